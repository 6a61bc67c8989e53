"""`caas run --on-cluster`'s pure pieces: a product's Secret bundle, its Job's manifests, the results a
Job prints to its log and how they join the local run folder (provisioning/oncluster/, harness/oncluster/)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures import run_facts
from harness import redaction
from harness.errors import ConfigError
from harness.oncluster import entry, results
from provisioning.model.onboarding import RUN_ID
from provisioning.oncluster import bundle, manifests

CA = b"-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n"


def _kubeconfig(directory: Path) -> Path:
    (directory / "ca.crt").write_bytes(CA)
    (directory / "admin.crt").write_bytes(b"cert")
    (directory / "admin.key").write_bytes(b"key")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://10.0.0.1:6443", "certificate-authority": "ca.crt"}}],
        "users": [{"name": "u", "user": {"client-certificate": "admin.crt", "client-key": "admin.key"}}],
        "contexts": [{"name": "shared", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "shared",
    }
    path = directory / "admin.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def _run_targets(directory: Path) -> dict[str, Any]:
    (directory / "login.json").write_text('{"auths": {}}')
    return {
        "version": 1,
        "products": [
            {"name": "lab-pks", "backend": "lab", "lab": {"profile": "pks"}},
            {
                "name": "bare",
                "backend": "kubeconfig",
                "kubeconfig": {"path": str(_kubeconfig(directory)), "context": "shared"},
                "images": {"registry": "r.example:5000", "pull_secret": {"file": str(directory / "login.json")}},
            },
        ],
        "tenancy": [{"product": "bare", "tenants": []}, {"product": "lab-pks", "tenants": []}],
        "expectations": [
            {"check": "check_x", "product": "bare", "status": "fail", "reason": "r"},
            {"check": "check_x", "product": "lab-pks", "status": "fail", "reason": "r"},
        ],
    }


def test_a_bundle_holds_the_product_alone_its_files_under_the_mount_and_a_flattened_kubeconfig(tmp_path: Path) -> None:
    data = bundle.product_bundle(_run_targets(tmp_path), "bare", "targets.yaml")
    targets = yaml.safe_load(data[bundle.TARGETS_KEY])
    assert [p["name"] for p in targets["products"]] == ["bare"]
    assert [t["product"] for t in targets["tenancy"]] == ["bare"]
    assert [e["product"] for e in targets["expectations"]] == ["bare"]
    product = targets["products"][0]
    kubeconfig_key = product["kubeconfig"]["path"].removeprefix(bundle.MOUNT + "/")
    login_key = product["images"]["pull_secret"]["file"].removeprefix(bundle.MOUNT + "/")
    assert set(data) == {bundle.TARGETS_KEY, kubeconfig_key, login_key}
    assert data[login_key] == b'{"auths": {}}'
    config = yaml.safe_load(data[kubeconfig_key])
    assert config["clusters"][0]["cluster"] == {
        "server": "https://10.0.0.1:6443",
        "certificate-authority-data": base64.b64encode(CA).decode(),
    }
    assert config["users"][0]["user"] == {
        "client-certificate-data": base64.b64encode(b"cert").decode(),
        "client-key-data": base64.b64encode(b"key").decode(),
    }


def test_a_lab_product_is_refused_naming_its_backend_field_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        bundle.product_bundle(_run_targets(tmp_path), "lab-pks", "targets.yaml")
    assert refused.value.path == "products[0].backend"
    assert "not lab" in refused.value.message
    assert "fix:" in refused.value.message


@pytest.mark.parametrize("field", ["exec", "auth-provider", "tokenFile"])
def test_a_kubeconfig_user_that_runs_a_program_or_reads_a_file_is_refused(tmp_path: Path, field: str) -> None:
    text = yaml.safe_dump({"users": [{"name": "u", "user": {field: {"command": "x"}}}]})
    with pytest.raises(ConfigError, match=f"`{field}`"):
        bundle.flattened_kubeconfig(text, tmp_path, "k")


def test_secret_keys_keep_only_the_characters_a_secret_key_allows() -> None:
    assert bundle.secret_key(3, "/a/b/my config (1).yaml") == "file3-my_config__1_.yaml"


def test_a_jobs_objects_are_labelled_with_the_run_id_and_run_once_unprivileged_without_a_token() -> None:
    objects = manifests.job_objects(
        "h6-r1",
        "bare",
        image="caas.local/lab/runner:1",
        bundle={"targets.yaml": b"x"},
        arguments=["a"],
        deadline=600,
        version="0.1.0+src.1",
    )
    assert [o["kind"] for o in objects] == ["Namespace", "Secret", "Job"]
    namespace = objects[0]["metadata"]["name"]
    assert namespace == "caas-h6-r1-bare"
    assert all(o["metadata"]["labels"][RUN_ID] == "h6-r1" for o in objects)
    assert all(o["metadata"]["namespace"] == namespace for o in objects[1:])
    job = objects[2]["spec"]
    assert job["backoffLimit"] == 0
    assert job["activeDeadlineSeconds"] == 600
    pod = job["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["args"] == ["a"]
    assert container["command"][1:] == ["-m", "harness.oncluster.entry"]
    assert {"name": "CAAS_SUITE_VERSION", "value": "0.1.0+src.1"} in container["env"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert objects[1]["data"] == {"targets.yaml": base64.b64encode(b"x").decode()}


def test_a_pull_secret_for_the_runner_image_is_its_own_secret_named_by_the_pod() -> None:
    objects = manifests.job_objects(
        "r", "p", image="i", bundle={}, arguments=[], deadline=1, version="v", pull_secret=b'{"auths":{}}'
    )
    pull = next(o for o in objects if o["metadata"]["name"] == "caas-runner-pull")
    assert pull["type"] == "kubernetes.io/dockerconfigjson"
    assert objects[-1]["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "caas-runner-pull"}]


@pytest.mark.parametrize("product", ["Very_Long.Product-Name" * 4, "x" * 60, "bare-"])
def test_a_namespace_name_is_a_dns_label_unique_per_product(product: str) -> None:
    name = manifests.namespace_name("a-run-id-of-thirty-two-character", product)
    assert len(name) <= 63
    assert name.replace("-", "").isalnum()
    assert name == name.lower()
    assert not name.endswith("-")
    assert name != manifests.namespace_name("a-run-id-of-thirty-two-character", product + "2")


def _run_folder(directory: Path, product: str) -> Path:
    (directory / "allure-results").mkdir(parents=True)
    (directory / "allure-results" / f"{product}-result.json").write_text("{}")
    (directory / "pytest.log").write_text(f"log of {product}\n")
    (directory / "junit.xml").write_text("<testsuites/>")
    (directory / redaction.DIGESTS_FILE).write_text(f"digest-{product}\nshared\n")
    (directory / results.ENVIRONMENT_FILE).write_text(json.dumps({"products": {product: {"v": 1}}}))
    (directory / "other.txt").write_text("other")
    return directory


def test_a_packed_run_folder_unpacks_from_a_log_among_other_lines(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path / "pod", "a")
    log = "caas on-cluster: running\n" + results.pack(folder, 1) + "trailing\n"
    unpacked = results.unpack(log, "a")
    assert unpacked.exit_code == 1
    written = results.extract(unpacked.archive, tmp_path / "out")
    sent = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert sorted(map(str, written)) == [name for name in sent if name != redaction.DIGESTS_FILE]
    assert (tmp_path / "out" / "pytest.log").read_text() == "log of a\n"


@pytest.mark.parametrize(
    ("log", "problem"),
    [
        ("nothing\n", "holds no results block (likely: the pod ended before the checks did"),
        (f"{results.BEGIN} exit=0\nAAAA\n", "ends inside its results (likely: "),
        (f"{results.BEGIN} exit=0\n!!!!\n{results.END}\n", "do not decode"),
    ],
)
def test_a_log_without_complete_results_is_one_line_naming_the_product_and_the_likely_cause(
    log: str, problem: str
) -> None:
    with pytest.raises(results.ResultsError) as missing:
        results.unpack(log, "bare-a")
    assert str(missing.value).startswith("bare-a: ")
    assert problem in str(missing.value)
    assert "\n" not in str(missing.value)


def test_the_names_results_copies_are_those_of_the_modules_it_cannot_import() -> None:
    assert results.ENVIRONMENT_FILE == run_facts.ENVIRONMENT_FILE


SECRET = "Tenant-A-password-1234567"  # a registered secret: found by its digest only, no shape of its own


def _scanned_run_folder(directory: Path, leak: bool) -> Path:
    folder = _run_folder(directory, "a")
    (folder / redaction.DIGESTS_FILE).write_text(hashlib.sha256(SECRET.encode()).hexdigest() + "\n")
    if leak:
        (folder / "allure-results" / "a-attachment.txt").write_text(f"first\nlogin with {SECRET}\n")
    return folder


def test_a_jobs_clean_run_folder_is_printed_without_the_secrets_digests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _scanned_run_folder(tmp_path / "pod", leak=False)
    assert entry.print_results(folder, 1) == 0
    assert not (folder / redaction.DIGESTS_FILE).exists()
    printed = capsys.readouterr().out
    assert hashlib.sha256(SECRET.encode()).hexdigest() not in printed
    written = results.extract(results.unpack(printed, "a").archive, tmp_path / "out")
    assert Path(redaction.DIGESTS_FILE) not in written
    assert Path("pytest.log") in written


def test_a_jobs_run_folder_with_a_secret_is_not_printed_only_the_count_and_places(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _scanned_run_folder(tmp_path / "pod", leak=True)
    assert entry.print_results(folder, 0) == entry.LEAKED == 4
    assert not (folder / redaction.DIGESTS_FILE).exists()
    printed = capsys.readouterr().out
    assert SECRET not in printed
    assert results.BEGIN not in printed
    assert hashlib.sha256(SECRET.encode()).hexdigest() not in printed
    with pytest.raises(results.LeaksReported) as reported:
        results.unpack(printed, "bare-a")
    assert reported.value.count == 1
    assert reported.value.places == ["allure-results/a-attachment.txt:2: registered secret"]
    assert str(reported.value).startswith("bare-a: its Job found 1 secret(s)")


def test_results_above_what_a_pod_log_carries_whole_are_one_error_line_instead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert results.MAX_PRINTED < 10 * 1024 * 1024  # the kubelet's containerLogMaxSize default
    folder = _scanned_run_folder(tmp_path / "pod", leak=False)
    monkeypatch.setattr(entry, "MAX_PRINTED", 100)
    assert entry.print_results(folder, 0) == entry.TOO_LARGE
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1
    assert printed.startswith(f"{results.ERROR} the results are ")
    with pytest.raises(results.ResultsError) as refused:
        results.unpack(f"caas on-cluster: the checks ended\n{printed}", "bare-a")
    assert str(refused.value).startswith("bare-a: its Job printed no results: the results are ")
    assert "containerLogMaxSize" in str(refused.value)
    assert "fix:" in str(refused.value)


def test_an_archive_member_outside_the_run_folder_is_refused(tmp_path: Path) -> None:
    import gzip
    import io
    import tarfile

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as zipped, tarfile.open(fileobj=zipped, mode="w") as tar:
        info = tarfile.TarInfo("../escape")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(results.ResultsError, match="escape"):
        results.extract(buffer.getvalue(), tmp_path / "out")
    assert not (tmp_path / "escape").exists()


def test_two_products_results_join_as_one_local_run_of_both_would_have_them(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for product in ("a", "b"):
        folder = _run_folder(tmp_path / product, product)
        files = [p.relative_to(folder) for p in folder.rglob("*") if p.is_file()]
        results.merge(run_dir, product, folder, files)
    assert sorted(p.name for p in (run_dir / "allure-results").iterdir()) == ["a-result.json", "b-result.json"]
    log = (run_dir / "pytest.log").read_text()
    assert "log of a" in log
    assert "log of b" in log
    assert log.index("log of a") < log.index("log of b")
    assert (run_dir / "junit-a.xml").exists()
    assert (run_dir / "junit-b.xml").exists()
    assert not list(run_dir.rglob(redaction.DIGESTS_FILE))  # a digest of a weak password can be guessed
    environment = json.loads((run_dir / results.ENVIRONMENT_FILE).read_text())
    assert environment["products"] == {"a": {"v": 1}, "b": {"v": 1}}
    assert (run_dir / results.ELSEWHERE / "b" / "other.txt").read_text() == "other"


def test_a_result_file_two_jobs_wrote_is_an_error_not_an_overwrite(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "allure-results").mkdir(parents=True)
    (run_dir / "allure-results" / "a-result.json").write_text("first")
    folder = _run_folder(tmp_path / "a", "a")
    with pytest.raises(results.ResultsError, match="already"):
        results.merge(run_dir, "a", folder, [Path("allure-results/a-result.json")])
    assert (run_dir / "allure-results" / "a-result.json").read_text() == "first"
