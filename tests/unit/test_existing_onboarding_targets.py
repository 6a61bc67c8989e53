"""`onboarding: existing` in the targets file: each misfit is one clear line at `caas check-config` (exit 2),
and a namespace the cluster does not have is one clear line at the start of `caas run`, before anything is
created (the cluster's answers faked here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main
from harness.targets import load_targets
from provisioning.backends import kubeconfig_authorization as authz
from provisioning.kube import client as kube
from tests.support import offline_kubeconfig, write_targets

IDENTITIES = ", ".join(
    f"{t}-{r}: {{token_env: {t.upper()}_{r.upper()}}}"
    for t in ("blue", "green")
    for r in ("admin", "developer", "viewer")
)


def _targets(
    tmp_path: Path,
    *,
    onboarding: str = "existing",
    backend: str = "kubeconfig",
    blue: str = "[acme-blue, acme-blue-dev]",
    identities: str = IDENTITIES,
) -> Path:
    kubeconfig = offline_kubeconfig(tmp_path / "acme.kubeconfig")
    section = (
        f"kubeconfig: {{path: {kubeconfig}, identities: {{{identities}}}}}"
        if backend == "kubeconfig"
        else 'pks: {api_url: "https://api.pks.example.com:9021", username_env: U, password_env: P}'
    )
    blue_namespaces = f", namespaces: {blue}" if blue else ""
    return write_targets(
        tmp_path,
        f"""\
        version: 1
        products:
          - name: acme
            backend: {backend}
            onboarding: {onboarding}
            {section}
            plans: [{{name: small, pod_security: restricted}}]
        tenancy:
          - product: acme
            tenants:
              - {{name: blue, plan: small{blue_namespaces}}}
              - {{name: green, plan: small, namespaces: [acme-green]}}
        """,
    )


def _one_error(capsys: pytest.CaptureFixture[str], code: int) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("caas: error: "), lines[0]
    return lines[0]


def test_an_existing_onboarding_is_accepted_and_names_the_providers_namespaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _targets(tmp_path)
    assert main(["check-config", str(path)]) == 0, capsys.readouterr().err
    blue, green = load_targets(path).model.tenants["acme"]
    assert (blue.namespace, blue.namespaces) == ("acme-blue", ("acme-blue", "acme-blue-dev"))
    assert green.namespace == "acme-green"


def test_the_suites_onboarding_keeps_its_own_namespaces(tmp_path: Path) -> None:
    path = _targets(tmp_path, onboarding="suite", blue="")
    text = path.read_text().replace(", namespaces: [acme-green]", "")
    path.write_text(text)
    targets = load_targets(path)
    assert targets.product_spec("acme").onboarding == "suite"
    assert [t.namespace for t in targets.model.tenants["acme"]] == ["tenant-blue", "tenant-green"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"blue": ""}, "tenancy[0].tenants[0].namespaces", "onboarding: existing needs the namespaces"),
        ({"blue": "[]"}, "tenancy[0].tenants[0].namespaces", "onboarding: existing needs the namespaces"),
        ({"blue": "[acme-green]"}, "tenancy[0].tenants[1].namespaces[0]", 'namespace "acme-green" is already named'),
        ({"blue": "[Acme_Blue]"}, "tenancy[0].tenants[0].namespaces[0]", '"Acme_Blue" is not a namespace name'),
        (
            {"onboarding": "provider"},
            "products[0].onboarding",
            'unknown onboarding "provider" (one of: suite, existing)',
        ),
        ({"backend": "pks"}, "products[0].onboarding", "onboarding: existing needs backend: kubeconfig"),
        (
            {"identities": IDENTITIES.replace(", green-viewer: {token_env: GREEN_VIEWER}", "")},
            "products[0].kubeconfig.identities",
            "needs the credentials of green-viewer",
        ),
    ],
    ids=[
        "no-namespaces",
        "empty-namespaces",
        "shared-namespace",
        "bad-name",
        "unknown",
        "not-kubeconfig",
        "no-credentials",
    ],
)
def test_a_misfit_is_one_clear_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, str], field: str, message: str
) -> None:
    path = _targets(tmp_path, **change)
    line = _one_error(capsys, main(["check-config", str(path)]))
    assert line.startswith(f"caas: error: {path}: {field}: "), line
    assert message in line, line
    assert "(fix: " in line or "one of:" in line, line


def test_namespaces_under_the_suites_onboarding_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _targets(tmp_path, onboarding="suite", blue="")
    line = _one_error(capsys, main(["check-config", str(path)]))
    assert f"{path}: tenancy[0].tenants[1].namespaces: namespaces are the provider's" in line, line


def test_an_abac_plan_under_the_suites_onboarding_on_a_kubeconfig_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The suite's ABAC lines go into the API server's policy file, which a kubeconfig cannot write: the
    suite's onboarding could grant the tenants nothing (a bare cfcr cluster answered 403 "No policy
    matched" to every tenant request). With onboarding: existing the provider's policy is judged instead."""
    path = _targets(tmp_path, onboarding="suite", blue="")
    text = path.read_text().replace(", namespaces: [acme-green]", "")
    path.write_text(text.replace("pod_security: restricted}", "pod_security: restricted, authorization: abac}"))
    line = _one_error(capsys, main(["check-config", str(path)]))
    assert line.startswith(f"caas: error: {path}: products[0].plans[0].authorization: abac: "), line
    assert "(fix: set onboarding: existing" in line, line
    existing = _targets(tmp_path)
    existing.write_text(existing.read_text().replace("restricted}", "restricted, authorization: abac}"))
    assert main(["check-config", str(existing)]) == 0, capsys.readouterr().err


class _Api:
    def close(self) -> None:
        pass


def test_a_namespace_the_cluster_lacks_stops_the_run_before_anything_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, str]] = []

    def request(_api: Any, method: str, path: str, **_kw: Any) -> Any:
        asked.append((method, path))
        if path.endswith("/acme-blue-dev"):
            raise kube.ApiFailure(404, "Not Found", '{"message": "namespaces \\"acme-blue-dev\\" not found"}')
        return {"metadata": {"name": path.rsplit("/", 1)[1]}}

    monkeypatch.setattr(kube, "from_kubeconfig", lambda *_a, **_k: _Api())
    monkeypatch.setattr(kube, "request", request)
    path = _targets(tmp_path)
    output = tmp_path / "out"
    line = _one_error(capsys, main(["run", "--targets", str(path), "--output", str(output), "--run-id", "r1"]))
    assert line.startswith(f"caas: error: {path}: tenancy[0].tenants[0].namespaces[1]: "), line
    assert 'namespace "acme-blue-dev" does not exist' in line, line
    assert "(fix: " in line, line
    assert {method for method, p in asked if p != authz.REVIEWS} == {"GET"}, "the preflight only reads (and reviews)"
    assert not (output / "r1").exists(), "no run folder: nothing was started"
