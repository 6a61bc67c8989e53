"""The targets file: the example is accepted; each kind of malformed input is one clear line, exit 2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.targets import load_targets
from provisioning.model.tenancy import Placement, PodSecurityLevel
from tests.support import ROOT

EXAMPLE = ROOT / "targets.example.yaml"

VALID = """\
version: 1
products:
  - name: pks
    backend: lab
    lab: {profile: pks}
    plans:
      - {name: small, quota: {hard: {pods: "10"}}}
tenancy:
  - product: pks
    tenants:
      - {name: blue, plan: small}
"""

# (case id, targets text, expected field path, expected words in the message)
MALFORMED = [
    (
        "unknown-backend",
        VALID.replace("backend: lab", "backend: pks2"),
        "products[0].backend",
        'unknown backend "pks2" (one of: lab, kubeconfig, pks, bosh, osb)',
    ),
    (
        "missing-products",
        "version: 1\ntenancy: [{product: a, tenants: [{name: b, plan: c}]}]\n",
        "products",
        "required field is missing",
    ),
    ("missing-version", VALID.replace("version: 1\n", ""), "version", "required field is missing"),
    ("wrong-version", VALID.replace("version: 1", "version: 7"), "version", "out of range"),
    (
        "workers-not-a-number",
        VALID.replace("{name: small,", "{name: small, workers: many,"),
        "products[0].plans[0].workers",
        "expected a whole number",
    ),
    (
        "workers-out-of-range",
        VALID.replace("{name: small,", "{name: small, workers: 13,"),
        "products[0].plans[0].workers",
        "out of range",
    ),
    (
        "unknown-plan",
        VALID.replace("plan: small}", "plan: xl}"),
        "tenancy[0].tenants[0].plan",
        'unknown plan "xl" for product "pks" (one of: small)',
    ),
    (
        "duplicate-tenant",
        VALID.replace(
            "      - {name: blue, plan: small}\n",
            "      - {name: blue, plan: small}\n      - {name: blue, plan: small}\n",
        ),
        "tenancy[0].tenants[1].name",
        'duplicate tenant "blue"',
    ),
    (
        "invalid-dns-name",
        VALID.replace("name: blue", "name: Blue_Team"),
        "tenancy[0].tenants[0].name",
        "is not a valid name",
    ),
    (
        "unknown-product-in-tenancy",
        VALID.replace("  - product: pks", "  - product: gke"),
        "tenancy[0].product",
        'unknown product "gke" (one of: pks)',
    ),
    ("unknown-field", VALID.replace("version: 1", "version: 1\nextra_stuff: true"), "extra_stuff", "unknown field"),
    (
        "inline-secret",
        VALID.replace("lab: {profile: pks}", "lab: {profile: pks}\n    password: hunter2"),
        "products[0].password",
        "secrets are never written inline",
    ),
    (
        "unknown-pod-security-level",
        VALID.replace("{name: small,", "{name: small, pod_security: strict,"),
        "products[0].plans[0].pod_security",
        'unknown pod-security level "strict"',
    ),
    (
        "negative-quota",
        VALID.replace('pods: "10"', 'pods: "-3"'),
        "products[0].plans[0].quota.hard",
        'negative quantity "-3"',
    ),
    (
        "bad-quantity",
        VALID.replace('pods: "10"', "pods: lots"),
        "products[0].plans[0].quota.hard",
        "is not a Kubernetes quantity",
    ),
    (
        "unknown-quota-resource",
        VALID.replace('pods: "10"', 'gpus: "1"'),
        "products[0].plans[0].quota.hard",
        'unknown quota resource "gpus"',
    ),
    (
        "products-not-a-list",
        "version: 1\nproducts: {name: pks}\ntenancy: [{product: a, tenants: [{name: b, plan: c}]}]\n",
        "products",
        "expected a list",
    ),
    (
        "empty-plans",
        VALID.replace('    plans:\n      - {name: small, quota: {hard: {pods: "10"}}}\n', "    plans: []\n"),
        "products[0].plans",
        "must not be empty",
    ),
    (
        "unknown-lab-profile",
        VALID.replace("profile: pks", "profile: gke"),
        "products[0].lab.profile",
        'unknown lab profile "gke"',
    ),
    (
        "missing-backend-section",
        VALID.replace("backend: lab\n    lab: {profile: pks}", "backend: pks"),
        "products[0].pks",
        'backend "pks" needs a "pks:" section',
    ),
    (
        "bad-env-name",
        VALID.replace(
            "backend: lab\n    lab: {profile: pks}",
            "backend: pks\n    pks: {api_url: https://x, username_env: USER, password_env: 'my password'}",
        ),
        "products[0].pks.password_env",
        "is not an environment variable name",
    ),
    (
        "privileged-with-restricted-level",
        VALID.replace("{name: small,", "{name: small, allow_privileged: true,"),
        "products[0].plans[0].pod_security",
        "allows privileged pods",
    ),
    (
        "negative-default-limit",
        VALID.replace('quota: {hard: {pods: "10"}}', 'quota: {hard: {pods: "10"}, default_limits: {cpu: "-500m"}}'),
        "products[0].plans[0].quota.default_limits",
        'negative quantity "-500m"',
    ),
    (
        "unparsable-default-request",
        VALID.replace('quota: {hard: {pods: "10"}}', 'quota: {hard: {pods: "10"}, default_requests: {memory: 64MB}}'),
        "products[0].plans[0].quota.default_requests",
        '"64MB" is not a Kubernetes quantity',
    ),
    (
        "fractional-object-count",
        VALID.replace('pods: "10"', 'pods: "2.5"'),
        "products[0].plans[0].quota.hard",
        'quota pods counts objects: "2.5" is not a whole number',
    ),
    (
        "quota-not-a-mapping",
        VALID.replace('quota: {hard: {pods: "10"}}', "quota: {hard: [pods]}"),
        "products[0].plans[0].quota.hard",
        "expected a mapping of resource name to quantity",
    ),
    (
        "unknown-placement",
        VALID.replace("plan: small}", "plan: small, placement: somewhere}"),
        "tenancy[0].tenants[0].placement",
        'unknown placement "somewhere"',
    ),
]


def _run_check_config(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check-config", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_example_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run_check_config(EXAMPLE, capsys)
    assert (code, err) == (0, "")
    assert "ok: 2 products" in out


def test_example_model() -> None:
    model = load_targets(EXAMPLE).model
    assert [c.name for c in model.clusters("pks")] == ["pks-shared", "pks-red"]
    assert model.product("pks").plan("large").allow_privileged
    assert model.product("pks").plan("small").pod_security is PodSecurityLevel.RESTRICTED
    assert [t.placement for t in model.tenants["pks"]] == [Placement.SHARED, Placement.SHARED, Placement.DEDICATED]


@pytest.mark.parametrize(("text", "path", "message"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_input_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, path: str, message: str
) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(text)
    code, out, err = _run_check_config(targets, capsys)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"caas: error: {targets}: {path}: "), lines[0]
    assert message in lines[0]


def test_yaml_syntax_error_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text("version: 1\nproducts:\n  - name: [unclosed\n")
    code, _, err = _run_check_config(targets, capsys)
    assert code == 2
    assert err.startswith(f"caas: error: {targets}: line 4, column 1: YAML syntax error")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(("content", "message"), [("", "the file is empty"), ("- a\n- b\n", "expected a mapping")])
def test_empty_or_not_a_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(content)
    code, _, err = _run_check_config(targets, capsys)
    assert code == 2
    assert message in err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run_check_config(tmp_path / "nope.yaml", capsys)
    assert code == 2
    assert "file not found" in err


def test_unreadable_kubeconfig_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        textwrap.dedent("""\
        version: 1
        products:
          - name: mine
            backend: kubeconfig
            kubeconfig: {path: missing/kubeconfig}
            plans: [{name: default}]
        tenancy:
          - product: mine
            tenants: [{name: blue, plan: default}]
        """)
    )
    code, _, err = _run_check_config(targets, capsys)
    assert code == 2
    assert f"caas: error: {targets}: products[0].kubeconfig.path: cannot read" in err
    assert "no such file or directory" in err


def test_several_errors_are_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        VALID.replace("plan: small}", "plan: xl}").replace(
            "  - product: pks\n    tenants:", "  - product: pks\n    tenants:"
        )
    )
    targets.write_text(targets.read_text().replace('pods: "10"', 'pods: "-1"').replace("backend: lab", "backend: x"))
    code, _, err = _run_check_config(targets, capsys)
    assert code == 2
    assert len(err.splitlines()) == 2
    assert all(line.startswith("caas: error: ") for line in err.splitlines())
