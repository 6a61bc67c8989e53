"""How pods name the suite's images (provisioning.images): by digest from the product's registry, with
its pull policy and pull secret; the targets file's `images` section and its one-line errors."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError, ConfigErrors, InfrastructureError
from harness.redaction import redact
from harness.targets import parse_targets
from provisioning.images import check, products, refs, skopeo
from provisioning.images.pull_secret import login, secret_manifest
from provisioning.images.spec import ImagesSpec, PullSecretSpec
from provisioning.lab import images


@pytest.fixture(autouse=True)
def _fresh_products(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(products, "_PRODUCTS", {})  # configure() is process-wide: none leaks to other tests


DIGESTS = {"probe": "sha256:" + "a" * 64, "busybox": "sha256:" + "b" * 64}


def _targets(images_section: str) -> str:
    return textwrap.dedent(f"""\
        version: 1
        products:
          - name: pks
            backend: lab
            plans: [{{name: small}}]
            images: {images_section}
        tenancy:
          - product: pks
            tenants: [{{name: blue, plan: small}}]
        """)


def test_without_images_a_pod_names_the_lab_image_and_never_pulls() -> None:
    ref = refs.resolve(None, "probe", DIGESTS)
    assert ref.container() == {"image": images.PROBE.reference, "imagePullPolicy": "Never"}
    assert ref.pod() == {}


def test_with_images_a_pod_names_the_registry_by_digest_with_the_pull_secret() -> None:
    spec = ImagesSpec(registry="registry.example.com:5000/caas", pull_secret=PullSecretSpec(file="auth.json"))
    ref = refs.resolve(spec, "busybox", DIGESTS)
    assert ref.image == f"registry.example.com:5000/caas/busybox@{DIGESTS['busybox']}"
    assert ref.pull_policy == "IfNotPresent"
    assert ref.pod() == {"imagePullSecrets": [{"name": refs.PULL_SECRET}]}
    anonymous = refs.resolve(ImagesSpec(registry="r.example.com", pull_policy="Always"), "probe", DIGESTS)
    assert anonymous.container() == {"image": f"r.example.com/probe@{DIGESTS['probe']}", "imagePullPolicy": "Always"}
    assert anonymous.pod() == {}


def test_the_digest_is_the_archives_manifest_digest(tmp_path: Path) -> None:
    layer = b"layer"
    archive = tmp_path / "x.tar"
    archive.write_bytes(images.oci_archive(images.PROBE, layer))
    index = json.loads(
        subprocess.run(["tar", "-xOf", str(archive), "index.json"], capture_output=True, check=True).stdout
    )
    digest = refs.archive_digest(archive)
    assert digest == index["manifests"][0]["digest"]
    blob = subprocess.run(["tar", "-xOf", str(archive), f"blobs/sha256/{digest[7:]}"], capture_output=True, check=True)
    assert hashlib.sha256(blob.stdout).hexdigest() == digest[7:], "the digest is the manifest's own"


def test_a_missing_archive_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(InfrastructureError, match=r"fix: caas lab build"):
        refs.digests(tmp_path)


@pytest.mark.parametrize(
    ("section", "field", "words"),
    [
        ("{registry: 'Registry.Example.com'}", "products[0].images.registry", "is not a registry location"),
        ("{registry: 'r.example.com/a//b'}", "products[0].images.registry", "HOST[:PORT][/PATH]"),
        ("{registry: r.example.com, pull_policy: Sometimes}", "products[0].images.pull_policy", "unknown pull policy"),
        (
            "{registry: r.example.com, pull_secret: {username_env: U}}",
            "products[0].images.pull_secret",
            "set both username_env and password_env",
        ),
        (
            "{registry: r.example.com, pull_secret: {username_env: U, password_env: P, file: a.json}}",
            "products[0].images.pull_secret",
            "not both",
        ),
        ("{registry: r.example.com, pull_secret: {password: x}}", "products[0].images.pull_secret.password", "inline"),
    ],
)
def test_a_bad_images_section_is_one_line_naming_the_field(section: str, field: str, words: str) -> None:
    with pytest.raises(ConfigErrors) as raised:
        parse_targets(_targets(section), "targets.yaml", Path("."), check_files=False)
    lines = str(raised.value).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"targets.yaml: {field}: "), lines[0]
    assert words in lines[0]


def test_a_good_images_section_is_read() -> None:
    section = "{registry: 'registry.example.com/caas', pull_secret: {username_env: U, password_env: P}}"
    spec = parse_targets(_targets(section), "t.yaml", Path("."), check_files=False).product_spec("pks").images
    assert spec is not None
    assert (spec.registry, spec.pull_policy) == ("registry.example.com/caas", "IfNotPresent")


def test_the_login_comes_from_the_environment_and_is_redacted() -> None:
    spec = ImagesSpec(
        registry="r.example.com:5043/caas", pull_secret=PullSecretSpec(username_env="U", password_env="P")
    )
    with pytest.raises(ConfigError, match=r"images\.pull_secret\.password_env: environment variable P is not set"):
        login(spec, {"U": "caas"}, Path("."), "t.yaml", "products[0].images")
    config = login(spec, {"U": "caas", "P": "pw-7f3a9c1e"}, Path("."), "t.yaml", "products[0].images")
    assert config is not None
    entry = config["auths"]["r.example.com:5043"]
    assert base64.b64decode(entry["auth"]) == b"caas:pw-7f3a9c1e"
    assert "pw-7f3a9c1e" not in redact(json.dumps(config))
    secret = secret_manifest("tenant-blue", config, {"a": "b"})
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert json.loads(base64.b64decode(secret["data"][".dockerconfigjson"])) == config
    assert secret["data"][".dockerconfigjson"] not in redact(json.dumps(secret))


def test_a_login_file_without_the_registry_names_the_fix(tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_text(json.dumps({"auths": {"other.example.com": {"auth": "eDp5"}}}))
    spec = ImagesSpec(registry="r.example.com/caas", pull_secret=PullSecretSpec(file="auth.json"))
    with pytest.raises(ConfigError) as raised:
        login(spec, {}, tmp_path, "t.yaml", "products[0].images")
    assert "images.pull_secret.file" in str(raised.value)
    assert "no login for r.example.com in it (fix: skopeo login r.example.com" in str(raised.value)
    (tmp_path / "auth.json").write_text(json.dumps({"auths": {"r.example.com": {"auth": "eDp5"}}}))
    assert login(spec, {}, tmp_path, "t.yaml", "products[0].images") == {"auths": {"r.example.com": {"auth": "eDp5"}}}


def test_skopeos_reason_is_one_line() -> None:
    done = subprocess.CompletedProcess(
        ["skopeo"],
        1,
        "",
        'time="x" level=fatal msg="reading manifest sha256:ab in r/probe: unauthorized: authentication required"\n',
    )
    assert skopeo.failure_line(done) == "reading manifest sha256:ab in r/probe: unauthorized: authentication required"


def _configured(tmp_path: Path, section: str, environment: dict[str, str]) -> None:
    for name, image in refs.SUITE_IMAGES.items():
        (tmp_path / image.archive_name).write_bytes(images.oci_archive(image, name.encode()))
    text = _targets(section).replace("  - name: pks\n", "  - name: pks\n", 1)
    text = text.replace("tenancy:", "  - {name: lab, backend: lab, plans: [{name: small}]}\ntenancy:")
    products.configure(parse_targets(text, "t.yaml", tmp_path, check_files=False).images, environment, tmp_path)


def test_suite_pod_names_the_products_images_and_makes_the_pull_secret_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configured(
        tmp_path,
        "{registry: r.example.com/caas, pull_secret: {username_env: U, password_env: P}}",
        {"U": "u", "P": "p"},
    )
    posted: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(products.kube, "request", lambda _api, _m, path, body: posted.append((path, body)))
    labels = {"caas-conformance.io/run-id": "r1", "app": "a"}
    pod = {
        "metadata": {"name": "p", "labels": labels},
        "spec": {"containers": [{"name": "c", "image": images.PROBE.reference, "imagePullPolicy": "Never"}]},
    }
    rewritten = products.suite_pod("pks", object(), "tenant-blue", pod)
    container = rewritten["spec"]["containers"][0]
    digest = refs.archive_digest(tmp_path / images.PROBE.archive_name)
    assert container["image"] == f"r.example.com/caas/probe@{digest}"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert rewritten["spec"]["imagePullSecrets"] == [{"name": refs.PULL_SECRET}]
    assert pod["spec"]["containers"][0]["image"] == images.PROBE.reference, "the original stays as it was"
    deployment = {
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [dict(container, image=images.BUSYBOX_IMAGE.reference)]}}},
    }
    template = products.suite_pod("pks", object(), "tenant-blue", deployment)["spec"]["template"]["spec"]
    assert template["containers"][0]["image"].startswith("r.example.com/caas/busybox@sha256:")
    assert [path for path, _ in posted] == ["/api/v1/namespaces/tenant-blue/secrets"], "one secret per namespace"
    assert posted[0][1]["metadata"]["labels"] == {"caas-conformance.io/run-id": "r1"}
    assert products.suite_pod("lab", object(), "tenant-blue", pod) is pod, "the lab's images stay as they are"


def test_an_unset_login_variable_stops_configuration_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"products\[0\]\.images\.pull_secret\.username_env: environment variable U"):
        _configured(tmp_path, "{registry: r.example.com, pull_secret: {username_env: U, password_env: P}}", {})


def test_the_targets_file_hands_over_every_products_images_section_in_its_order() -> None:
    text = _targets("{registry: r.example.com}").replace(
        "tenancy:", "  - {name: plain, backend: lab, plans: [{name: small}]}\ntenancy:"
    )
    sections = parse_targets(text, "t.yaml", Path("/srv/suite"), check_files=False).images
    assert [name for name, _ in sections.products] == ["pks", "plain"]
    assert sections.products[0][1] == ImagesSpec(registry="r.example.com")
    assert sections.products[1][1] is None, "no section: the lab's images"
    assert (sections.label, sections.base_dir) == ("t.yaml", Path("/srv/suite"))
    assert sections.where(1) == "products[1].images"


def test_check_config_names_the_login_it_cannot_read_before_asking_the_registry(tmp_path: Path) -> None:
    section = "{registry: r.example.com, pull_secret: {username_env: CAAS_TEST_U, password_env: CAAS_TEST_P}}"
    sections = parse_targets(_targets(section), "t.yaml", tmp_path, check_files=False).images
    problems = check.image_problems(sections, {"CAAS_TEST_U": "u"}, tmp_path)
    assert [str(p) for p in problems] == [
        "t.yaml: products[0].images.pull_secret.password_env: environment variable CAAS_TEST_P is not set (export it)"
    ]
    without = parse_targets(_targets("null"), "t.yaml", tmp_path, check_files=False).images
    assert check.image_problems(without, {}, tmp_path) == [], "no images section: nothing to pull"
