"""Contract tests of the BOSH (CFCR) backend against a local director, UAA and CredHub as documented."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.errors import ConfigError
from provisioning.backends.bosh import TaskFailed
from provisioning.http import HttpFailure
from tests.contract.fake_apis import CA_PEM, BoshApi
from tests.contract.targets_helpers import backend_and_request, product_settings

pytestmark = pytest.mark.contract

ENV = {"BOSH_CLIENT": "ci-director", "BOSH_CLIENT_SECRET": "bosh-secret-pw"}
KUBO = Path(__file__).parent / "kubo"


def _product(url: str, ops: str = "[kubo/allow-privileged-containers.yml, kubo/single-worker.yml]") -> str:
    return f"""\
    - name: p
      backend: bosh
      bosh:
        director_url: "{url}"
        uaa_url: "{url}"
        credhub_url: "{url}"
        client_env: BOSH_CLIENT
        client_secret_env: BOSH_CLIENT_SECRET
        manifest: kubo/cfcr.yml
        ops_files: {ops}
        vars: {{worker_count: "1"}}
        master_host: "{{cluster}}.cfcr.example.com"
        task_timeout: 20
        poll_seconds: 0.01
      plans: [{{name: small, authorization: abac, pod_security: baseline}}]
    """


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(KUBO, tmp_path / "kubo")
    return tmp_path


@pytest.fixture
def director() -> Iterator[tuple[BoshApi, str]]:
    api = BoshApi(polls=3)
    with api.serve() as url:
        api.base = url
        yield api, url


def test_deploys_kubo_with_ops_files_and_builds_the_kubeconfig_from_credhub(
    director: tuple[BoshApi, str], workdir: Path
) -> None:
    api, url = director
    backend, request = backend_and_request(product_settings(workdir, _product(url), ENV))
    handle = backend.provision(request)
    deployed = yaml.safe_load(api.deployments["bk-p-shared"])
    assert deployed["name"] == "bk-p-shared"
    master = next(g for g in deployed["instance_groups"] if g["name"] == "master")
    assert master["jobs"][0]["properties"]["k8s-args"] == {"secure-port": 8443, "allow-privileged": True}
    assert next(g for g in deployed["instance_groups"] if g["name"] == "worker")["instances"] == 1
    assert deployed["variables"][1]["options"]["common_name"] == "bk-p-shared.cfcr.example.com"
    assert master["jobs"][0]["properties"]["admin-password"] == "((kubo-admin-password))", "left to CredHub"
    assert len([r for r in api.requests if r == ("GET", "/tasks/1")]) == 4, "polled until done"
    config = yaml.safe_load(handle.admin_kubeconfig.read_text())
    assert config["users"][0]["user"]["token"] == api.admin_password
    assert handle.server == "https://bk-p-shared.cfcr.example.com:8443"
    assert handle.ca_pem == CA_PEM.encode()
    backend.release(handle)
    assert api.deployments == {}
    assert api.tasks[2]["description"] == "delete deployment bk-p-shared"
    assert api.tasks[2]["state"] == "done"


def test_a_slow_task_is_followed_until_done(workdir: Path) -> None:
    api = BoshApi(polls=30)
    with api.serve() as url:
        api.base = url
        backend, request = backend_and_request(product_settings(workdir, _product(url), ENV))
        backend.release(backend.provision(request))
    assert api.tasks[1]["state"] == "done"
    assert len([r for r in api.requests if r == ("GET", "/tasks/1")]) == 31


def test_an_expired_token_is_renewed_while_a_long_task_is_followed(workdir: Path) -> None:
    api = BoshApi(polls=10)
    api.token_lifetime = 3
    with api.serve() as url:
        api.base = url
        backend, request = backend_and_request(product_settings(workdir, _product(url), ENV))
        backend.release(backend.provision(request))
    assert api.tasks[1]["state"] == "done"
    assert api.tokens_issued >= 4


def test_a_failed_task_names_the_error_and_removes_the_deployment(workdir: Path) -> None:
    api = BoshApi(polls=1, fail_deploy=True)
    with api.serve() as url:
        api.base = url
        backend, request = backend_and_request(product_settings(workdir, _product(url), ENV))
        with pytest.raises(TaskFailed) as failed:
            backend.provision(request)
    message = str(failed.value)
    assert "BOSH task 1 (deploy bk-p-shared) ended error" in message
    assert "'master/0' is not running after update" in message
    assert "bosh task 1 --debug" in message
    assert api.deployments == {}, "the half-made deployment is deleted"


def test_bad_credentials_are_one_clear_line_without_the_secret(director: tuple[BoshApi, str], workdir: Path) -> None:
    _api, url = director
    env = {"BOSH_CLIENT": "ci-director", "BOSH_CLIENT_SECRET": "wrong-secret-456"}
    backend, request = backend_and_request(product_settings(workdir, _product(url), env))
    with pytest.raises(HttpFailure) as refused:
        backend.provision(request)
    message = str(refused.value)
    assert refused.value.status == 401
    assert "\n" not in message
    assert "UAA rejected the credentials: check products[0].bosh.client_env and products[0].bosh.client_secret_env" in (
        message
    )
    assert "wrong-secret-456" not in message + repr(refused.value) + repr(backend)


def test_a_director_with_basic_auth(workdir: Path) -> None:
    api = BoshApi(polls=0, auth="basic")
    with api.serve() as url:
        api.base = url
        backend, request = backend_and_request(product_settings(workdir, _product(url), ENV))
        backend.release(backend.provision(request))
    deployed_at = api.requests.index(("POST", "/deployments"))
    assert api.requests.index(("POST", "/oauth/token")) > deployed_at, "the director took basic auth; CredHub a token"


def test_an_ops_file_that_does_not_fit_the_manifest_is_a_config_error(
    director: tuple[BoshApi, str], workdir: Path
) -> None:
    api, url = director
    (workdir / "kubo" / "bad.yml").write_text(
        "- type: replace\n  path: /instance_groups/name=etcd/instances\n  value: 3\n"
    )
    backend, request = backend_and_request(product_settings(workdir, _product(url, ops="[kubo/bad.yml]"), ENV))
    with pytest.raises(ConfigError, match=r"products\[0\]\.bosh\.ops_files\[0\]: .*no item with name=etcd"):
        backend.provision(request)
    assert ("POST", "/deployments") not in api.requests


def test_an_unreadable_ops_file_is_caught_by_the_targets_check(workdir: Path) -> None:
    from harness.errors import ConfigErrors

    with pytest.raises(ConfigErrors, match=r"products\[0\]\.bosh\.ops_files\[0\]: cannot read"):
        product_settings(workdir, _product("https://bosh.example.com:25555", ops="[kubo/missing.yml]"), ENV)
