"""`caas run` refutes a kubeconfig plan's stated `authorization` before pytest starts: one SubjectAccessReview
per context and stated mode, a refuted plan one line naming its field, exit 2, nothing provisioned, no run
folder (provisioning/backends/kubeconfig_authorization.py; the answers are those the lab's clusters gave)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main
from harness.targets import load_targets
from provisioning.backends import kubeconfig_authorization as authz
from provisioning.kube import client as kube
from tests.support import offline_kubeconfig, write_targets

RBAC_GRANT = {"allowed": True, "reason": 'RBAC: allowed by ClusterRoleBinding "system:basic-user"'}  # lab pks
RBAC_REFUSAL = {"allowed": False}  # lab pks (Node,RBAC), the ABAC question: no authorizer gives a reason
ABAC_REFUSAL = {"allowed": False, "reason": "No policy matched."}  # lab cfcr, either question
IDENTITIES = ", ".join(
    f"{t}-{r}: {{token_env: {t.upper()}_{r.upper()}}}"
    for t in ("blue", "green", "red")
    for r in ("admin", "developer", "viewer")
)
DEDICATED_RED = "{name: red, plan: small, placement: dedicated, namespaces: [acme-red]}"


def _targets(tmp_path: Path, authorization: str, red: str = DEDICATED_RED) -> Path:
    kubeconfig = offline_kubeconfig(tmp_path / "acme.kubeconfig", contexts=("c", "d"))
    return write_targets(
        tmp_path,
        f"""\
        version: 1
        products:
          - name: acme
            backend: kubeconfig
            onboarding: existing
            kubeconfig: {{path: {kubeconfig}, tenant_contexts: {{red: d}}, identities: {{{IDENTITIES}}}}}
            plans: [{{name: big}}, {{name: small, authorization: {authorization}}}]
        tenancy:
          - product: acme
            tenants:
              - {{name: blue, plan: small, namespaces: [acme-blue]}}
              - {{name: green, plan: small, namespaces: [acme-green]}}
              - {red}
        """,
    )


class Cluster:
    """Every cluster's answers: SubjectAccessReviews get `status` (or fail), namespaces exist."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, status: dict[str, Any], review_fails: bool = False) -> None:
        self.reviews: list[tuple[str | None, dict[str, Any]]] = []
        self.status, self.review_fails = status, review_fails

        def from_kubeconfig(_path: Path, context: str | None = None, **_kw: Any) -> Any:
            return _Api(context)

        monkeypatch.setattr(kube, "from_kubeconfig", from_kubeconfig)
        monkeypatch.setattr(kube, "request", self.request)

    def request(self, api: _Api, method: str, path: str, body: Any = None, **_kw: Any) -> Any:
        if path == authz.REVIEWS:
            assert method == "POST"
            self.reviews.append((api.context, body["spec"]))
            if self.review_fails:
                raise kube.ApiFailure(403, "Forbidden")
            return {"status": self.status}
        assert method == "GET", "the pre-flight reads and reviews only"
        return {"metadata": {"name": path.rsplit("/", 1)[1]}}


class _Api:
    def __init__(self, context: str | None) -> None:
        self.context = context

    def close(self) -> None:
        pass


def _refuted(path: Path) -> list[str]:
    targets = load_targets(path)
    return [str(e) for e in authz.refuted_plans(targets.spec, str(path), path.parent, ("acme",))]


@pytest.mark.parametrize(
    ("authorization", "status", "refuted"),
    [
        ("abac", RBAC_REFUSAL, True),  # an RBAC cluster stated as ABAC
        ("abac", ABAC_REFUSAL, False),
        ("rbac", ABAC_REFUSAL, True),  # an ABAC cluster stated as RBAC
        ("rbac", RBAC_GRANT, False),
    ],
)
def test_the_preflight_refutes_a_stated_mode_once_per_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, authorization: str, status: dict[str, Any], refuted: bool
) -> None:
    cluster = Cluster(monkeypatch, status)
    errors = _refuted(_targets(tmp_path, authorization))
    # blue and green share the product's context: one review; red has its own context: one more
    assert [context for context, _ in cluster.reviews] == [None, "d"]
    assert {spec["user"] for _, spec in cluster.reviews} == {authz.PROBE_USER}
    assert len(errors) == (2 if refuted else 0), errors
    for error, context in zip(errors, ("(current)", "d"), strict=False):
        assert f': products[0].plans[1].authorization: plan "small" says authorization: {authorization}, ' in error
        assert f"but on the cluster of context {context} " in error
        assert ("no ABAC authorizer answers: " if authorization == "abac" else "ABAC answers and RBAC grants") in error
        assert error.endswith(")")
        assert "(fix: set authorization: " in error
        assert "\n" not in error


def test_a_plan_no_tenant_uses_is_not_asked_and_a_failed_review_refutes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = Cluster(monkeypatch, RBAC_REFUSAL, review_fails=True)
    assert _refuted(_targets(tmp_path, "abac")) == []
    assert len(cluster.reviews) == 2
    assert all(spec["groups"] == [] for _, spec in cluster.reviews), "only the small plan's abac question"


def test_caas_run_stops_on_a_refuted_plan_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Cluster(monkeypatch, RBAC_REFUSAL)
    path = _targets(tmp_path, "abac", red="{name: red, plan: small, namespaces: [acme-red]}")
    path.write_text(path.read_text().replace(", tenant_contexts: {red: d}", ""))
    output = tmp_path / "out"
    code = main(["run", "--targets", str(path), "--output", str(output), "--run-id", "r1"])
    err = capsys.readouterr().err
    assert code == 2, err
    [line] = err.splitlines()
    assert line.startswith(f"caas: error: {path}: products[0].plans[1].authorization: "), line
    assert "but on the cluster of context (current) no ABAC authorizer answers: " in line
    assert "(fix: set authorization: rbac if the cluster authorizes by RBAC, " in line
    assert not (output / "r1").exists(), "no run folder: nothing was started"
