"""`caas run --on-cluster`'s Job options and the runner image's version check (harness/cli/on_cluster.py,
harness/oncluster/entry.py, provisioning/oncluster/version.py): --runner-pull-secret and --job-deadline
are refused in one line before anything exists, reach the Job's manifest, the local wait follows the
deadline, and a runner image of other source refuses to run, its line reaching the launcher's report."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness import redaction
from harness.cli import on_cluster
from harness.cli.main import main
from harness.errors import ConfigError
from harness.oncluster import entry, results
from provisioning.kube import jobs
from provisioning.kube.client import ApiFailure
from provisioning.model.onboarding import Manifest
from provisioning.oncluster import manifests, runner_image, version

DOCKER_CONFIG = b'{"auths": {"registry.example:5000": {"auth": "dXNlcjpub3QtYS1yZWFsLXBhc3N3b3Jk"}}}'


def _refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> list[str]:
    """`caas run --on-cluster` with `options`; its exit code is 2, no run folder: its error lines."""
    kubeconfig = tmp_path / "management.kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    code = main(
        [
            *("run", "--output", str(tmp_path / "out"), "--product", "pks"),
            *("--on-cluster", str(kubeconfig), "--runner-image", "caas.local/caas/runner:x", *options),
        ]
    )
    assert code == 2
    assert not (tmp_path / "out").exists()
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("caas: error:")]


@pytest.mark.parametrize("given", ["Registry_Login", "-login", "login-", "a" * 254, "ns_1/login", "/login", "a/b/c"])
def test_a_pull_secret_that_is_no_kubernetes_name_is_one_line_before_anything_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    """Checked before the products (the lab product pks would be refused too): that one line alone."""
    errors = _refused(tmp_path, capsys, f"--runner-pull-secret={given}")
    assert len(errors) == 1, errors
    assert errors[0].startswith("caas: error: --runner-pull-secret: ")
    assert "DNS-1123" in errors[0]
    assert errors[0].endswith(")")
    assert "(fix: " in errors[0]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("registry-login", ("default", "registry-login")),
        ("registry.login.v2", ("default", "registry.login.v2")),
        ("caas-runner/login", ("caas-runner", "login")),
        (None, None),
    ],
)
def test_a_pull_secret_is_named_as_namespace_and_name(given: str | None, expected: tuple[str, str] | None) -> None:
    assert on_cluster.pull_secret_name(given) == expected


@pytest.mark.parametrize("given", ["59", "0", "-600", "3600.5", "1h", "", "٣٦٠٠", "60 s"])
def test_a_job_deadline_that_is_no_whole_number_of_at_least_60_seconds_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    errors = _refused(tmp_path, capsys, f"--job-deadline={given}")
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"caas: error: --job-deadline: {given!r} is no whole number of seconds of at least 60")
    assert "(fix: give e.g. --job-deadline 3600" in errors[0]


@pytest.mark.parametrize(("given", "seconds"), [(None, 3600), ("60", 60), (" 7200 ", 7200)])
def test_a_job_deadline_is_its_seconds_and_the_local_wait_outlasts_it(given: str | None, seconds: int) -> None:
    assert on_cluster.job_deadline(given) == seconds
    assert on_cluster.wait_seconds(seconds) >= seconds + 60  # the Job controller's end of the pod, then its Failed


class _Api:
    """The management cluster's answers to the pull Secret's GET: `answer` (a Secret) or `failure`."""

    def __init__(self, answer: dict[str, Any] | None = None, failure: ApiFailure | None = None) -> None:
        self.answer, self.failure, self.paths = answer, failure, []

    def request(self, _api: object, method: str, path: str) -> dict[str, Any]:
        assert method == "GET"
        self.paths.append(path)
        if self.failure is not None:
            raise self.failure
        assert self.answer is not None
        return self.answer


def _secret(kind: str = "kubernetes.io/dockerconfigjson", key: str = ".dockerconfigjson") -> dict[str, Any]:
    return {"kind": "Secret", "type": kind, "data": {key: base64.b64encode(DOCKER_CONFIG).decode()}}


def test_the_pull_secret_is_read_from_its_namespace_and_its_logins_are_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = _Api(_secret())
    monkeypatch.setattr(on_cluster, "from_kubeconfig", lambda path, timeout: object())
    monkeypatch.setattr(on_cluster, "request", api.request)
    assert on_cluster.read_pull_secret(tmp_path / "k", "caas-runner", "login") == DOCKER_CONFIG
    assert api.paths == ["/api/v1/namespaces/caas-runner/secrets/login"]
    assert "dXNlcjpub3QtYS1yZWFsLXBhc3N3b3Jk" not in redaction.redact("auth dXNlcjpub3QtYS1yZWFsLXBhc3N3b3Jk")


@pytest.mark.parametrize(
    ("api", "said"),
    [
        (_Api(failure=ApiFailure(404, "Not Found")), "no Secret login in namespace ns of the management cluster"),
        (_Api(failure=ApiFailure(403, "Forbidden")), "the management kubeconfig may not read Secret login"),
        (_Api(_secret(kind="Opaque")), "is of type Opaque, not kubernetes.io/dockerconfigjson"),
        (_Api(_secret(key="config.json")), "not kubernetes.io/dockerconfigjson with a .dockerconfigjson"),
    ],
)
def test_a_pull_secret_that_is_missing_unreadable_or_of_another_type_is_one_config_error_without_its_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: _Api, said: str
) -> None:
    monkeypatch.setattr(on_cluster, "from_kubeconfig", lambda path, timeout: object())
    monkeypatch.setattr(on_cluster, "request", api.request)
    with pytest.raises(ConfigError) as refused:
        on_cluster.read_pull_secret(tmp_path / "k", "ns", "login")
    assert refused.value.source == "--runner-pull-secret"
    assert said in refused.value.message
    assert "(fix: " in refused.value.message
    assert base64.b64encode(DOCKER_CONFIG).decode() not in str(refused.value)


def test_each_job_carries_the_deadline_the_version_and_a_copy_of_the_pull_secret_and_is_awaited_beyond_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[list[Manifest]] = []
    waited: list[float] = []
    pod_folder = tmp_path / "pod"
    (pod_folder / "allure-results").mkdir(parents=True)
    monkeypatch.setattr(on_cluster, "from_kubeconfig", lambda path, timeout: object())
    monkeypatch.setattr(on_cluster, "request", lambda api, method, path: {})
    monkeypatch.setattr(jobs, "create", lambda api, objects: created.append(objects))
    monkeypatch.setattr(
        jobs, "wait_done", lambda api, namespace, name, timeout: waited.append(timeout) or SimpleNamespace(pod="p")
    )
    monkeypatch.setattr(jobs, "pod_log", lambda api, namespace, pod, container: results.pack(pod_folder, 0))
    monkeypatch.setattr(jobs, "namespaces_of_run", lambda api, run_id, component: [])
    monkeypatch.setattr(jobs, "remove_namespaces", lambda api, names, timeout: None)
    plan = on_cluster.Plan(
        tmp_path / "k", "r.example/caas/runner@sha256:1", {"a": {}}, 900, "0.1.0+src.1", DOCKER_CONFIG
    )
    assert "auths" not in repr(plan)
    settings: Any = SimpleNamespace(run_id="r1", keep=False, selected_products=("a",))
    code = on_cluster.run_jobs(plan, settings, tmp_path / "run", ["python", "-m", "pytest", "steps"], lambda _m: None)
    assert code == 0
    [objects] = created
    copy = next(o for o in objects if o["metadata"]["name"] == manifests.PULL_SECRET)
    assert copy["type"] == "kubernetes.io/dockerconfigjson"
    assert base64.b64decode(copy["data"][".dockerconfigjson"]) == DOCKER_CONFIG
    assert copy["metadata"]["namespace"] == objects[0]["metadata"]["name"]
    job = objects[-1]
    assert [o["kind"] for o in objects].index("Secret") < [o["kind"] for o in objects].index("Job")
    assert job["spec"]["activeDeadlineSeconds"] == 900
    pod = job["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": manifests.PULL_SECRET}]
    assert {"name": version.ENV, "value": "0.1.0+src.1"} in pod["containers"][0]["env"]
    assert waited == [900 + on_cluster.DEADLINE_MARGIN]


def test_a_job_whose_image_refused_the_version_gives_no_results_and_its_line_names_both_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusal = entry.version_refusal("0.1.0+src.new", "0.1.0+src.old")
    monkeypatch.setattr(on_cluster, "from_kubeconfig", lambda path, timeout: object())
    monkeypatch.setattr(on_cluster, "request", lambda api, method, path: {})
    monkeypatch.setattr(jobs, "create", lambda api, objects: None)
    monkeypatch.setattr(jobs, "wait_done", lambda api, namespace, name, timeout: jobs.JobState(True, True, "p", "", ""))
    monkeypatch.setattr(jobs, "pod_log", lambda api, namespace, pod, container: f"{results.ERROR} {refusal}\n")
    monkeypatch.setattr(jobs, "namespaces_of_run", lambda api, run_id, component: [])
    monkeypatch.setattr(jobs, "remove_namespaces", lambda api, names, timeout: None)
    plan = on_cluster.Plan(tmp_path / "k", "image", {"a": {}}, version="0.1.0+src.new")
    settings: Any = SimpleNamespace(run_id="r1", keep=False, selected_products=("a",))
    said: list[str] = []
    assert on_cluster.run_jobs(plan, settings, tmp_path / "run", ["python", "-m", "pytest", "steps"], said.append) == 3
    [line] = [s for s in said if s.startswith("  a: its Job ended")]
    assert line.endswith(f"(no results: a: its Job printed no results: {refusal})")
    assert "suite 0.1.0+src.old, the launching suite is 0.1.0+src.new" in line
    assert "(fix: run `caas images build-runner`" in line


def test_the_entry_refuses_another_suite_version_before_it_runs_pytest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", lambda argv, **_kw: ran.append(argv))
    monkeypatch.setattr(version, "suite_version", lambda source: "0.1.0+src.image")
    monkeypatch.setenv(version.ENV, "0.1.0+src.launcher")
    assert entry.main([str(tmp_path / "run"), "--", "steps"]) == entry.OTHER_VERSION
    assert ran == []
    assert not (tmp_path / "run").exists()
    printed = capsys.readouterr().out
    assert printed == (
        f"{results.ERROR} the runner image holds suite 0.1.0+src.image, the launching suite is 0.1.0+src.launcher; "
        "an image of other source gives other verdicts (fix: run `caas images build-runner` in the launching "
        "checkout, load or push the image it writes and give its reference to --runner-image)\n"
    )


@pytest.mark.parametrize(("launcher", "image"), [("0.1.0+src.a", "0.1.0+src.a"), ("", "0.1.0+src.a")])
def test_the_same_version_or_none_given_is_no_refusal(launcher: str, image: str) -> None:
    assert entry.version_refusal(launcher, image) == ""


def test_the_image_copy_of_the_source_has_the_checkouts_version_and_any_change_makes_another(tmp_path: Path) -> None:
    """What runner_image copies and what version hashes are one set: the checkout and the copy agree."""
    root = tmp_path / "root"
    runner_image._source(root, on_cluster.SOURCE)
    copy = root / runner_image.SOURCE_ROOT
    (copy / "harness" / "__pycache__").mkdir(exist_ok=True)
    (copy / "harness" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"compiled")
    checkout = version.suite_version(on_cluster.SOURCE)
    assert "+src." in checkout
    assert version.suite_version(copy) == checkout
    (copy / "checks" / "extra.py").write_text("")
    assert version.suite_version(copy) != checkout


def test_a_log_without_results_shows_its_last_line(tmp_path: Path) -> None:
    """An image older than harness/oncluster cannot run the entry: Python's line is what the launcher shows."""
    log = "/usr/bin/python3: Error while finding module specification for 'harness.oncluster.entry' " + (
        "(ModuleNotFoundError: No module named 'harness.oncluster')\n\n"
    )
    with pytest.raises(results.ResultsError) as missing:
        results.unpack(log, "a")
    assert str(missing.value).endswith("; its log ends: " + log.strip())
    json.dumps(str(missing.value))  # one line of text
    assert "\n" not in str(missing.value)


def test_a_job_past_its_deadline_without_results_is_said_with_the_deadline_and_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Job controller ends the pod at activeDeadlineSeconds; its log (if still there) holds no results."""
    monkeypatch.setattr(on_cluster, "from_kubeconfig", lambda path, timeout: object())
    monkeypatch.setattr(on_cluster, "request", lambda api, method, path: {})
    monkeypatch.setattr(jobs, "create", lambda api, objects: None)
    monkeypatch.setattr(
        jobs, "wait_done", lambda api, namespace, name, timeout: jobs.JobState(True, True, "p", "", "DeadlineExceeded")
    )
    monkeypatch.setattr(jobs, "pod_log", lambda api, namespace, pod, container: "collected 40 items\n")
    monkeypatch.setattr(jobs, "namespaces_of_run", lambda api, run_id, component: [])
    monkeypatch.setattr(jobs, "remove_namespaces", lambda api, names, timeout: None)
    plan = on_cluster.Plan(tmp_path / "k", "image", {"a": {}}, deadline=120, version="v")
    settings: Any = SimpleNamespace(run_id="r1", keep=False, selected_products=("a",))
    said: list[str] = []
    assert on_cluster.run_jobs(plan, settings, tmp_path / "run", ["python", "-m", "pytest", "steps"], said.append) == 3
    [line] = [s for s in said if s.startswith("  a: its Job ended")]
    assert "no results: a: its Job passed its deadline of 120s (activeDeadlineSeconds" in line
    assert "(fix: a longer --job-deadline" in line


def test_a_failed_jobs_reason_is_read_from_its_failed_condition(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {
        "/apis/batch/v1/namespaces/ns/jobs/caas-run": {
            "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}
        },
        "/api/v1/namespaces/ns/pods": {"items": []},
    }
    monkeypatch.setattr(jobs, "request", lambda api, method, path, query=None: answers[path])
    state = jobs.job_state(object(), "ns", "caas-run")
    assert (state.done, state.failed, state.reason) == (True, True, "DeadlineExceeded")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--runner-image", "registry.example/caas/runner:1"),
        ("--runner-pull-secret", "login"),
        ("--job-deadline", "600"),
    ],
)
def test_an_on_cluster_option_without_on_cluster_is_one_line_and_runs_nothing(option: str, value: str) -> None:
    from tests.support import run_caas

    done = run_caas("run", option, value, "--run-id", "only-on-cluster", timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    fix = "add --on-cluster KUBECONFIG, or drop it"
    assert lines == [f"caas: error: {option}: is only for a run on a management cluster (fix: {fix})"], done.stderr
    assert "building the embedded lab" not in done.stdout + done.stderr
