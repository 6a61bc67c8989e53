"""How a scenario's outcome and facts are named for the reports (fixtures/expectations.py,
fixtures/run_facts.py): the (check, product) a scenario counts for, the status of each of its phases
(an AssertionError is FAIL, a timeout or any other exception ERROR, an expected failure FAIL, a strict
XPASS PASS), the xfail reason, the tenants a scenario judges and its area's layers, and a credential's kind (never its
secret)."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, cast

import pytest
from pytest_timeout import PYTEST_FAILURE_MESSAGE  # type: ignore[import-untyped]

from checks.verdicts import Inconclusive
from fixtures.expectations import phase_status, scenario_key, xfail_reason
from fixtures.run_facts import _credential_kind, area_layers, judged_scope
from harness.settings import DEFAULT_TARGETS, Settings
from harness.targets import load_targets
from provisioning.backends.protocol import Credential
from reports.records import Status


def item(markers: list[str], product: object = "pks", parametrized: bool = True) -> pytest.Item:
    fake: Any = types.SimpleNamespace(iter_markers=lambda: [types.SimpleNamespace(name=m) for m in markers])
    if parametrized:
        fake.callspec = types.SimpleNamespace(params={"product_name": product})
    return cast(pytest.Item, fake)


def test_a_scenario_counts_for_its_first_check_tag_on_its_product() -> None:
    assert scenario_key(item(["rbac", "check_rbac_002", "check_rbac_001", "shared_cluster"])) == (
        "check_rbac_001",
        "pks",
    )
    assert scenario_key(item(["check_network_001"], "cfcr")) == ("check_network_001", "cfcr")


@pytest.mark.parametrize(
    "test",
    [
        item(["rbac", "lab"]),  # no check tag
        item(["check_network_001"], parametrized=False),  # not parametrized by product
        item(["check_network_001"], None),
        item(["check_network_001"], 3),
    ],
)
def test_a_test_that_is_no_product_scenario_has_no_key(test: pytest.Item) -> None:
    assert scenario_key(test) is None


def test_the_xfail_reason_names_the_check_the_product_the_file_and_its_reason() -> None:
    reason = xfail_reason(
        "check_network_001", "cfcr", Status.FAIL, "no NetworkPolicy dataplane", Path("/x/targets.yaml")
    )
    assert reason == "check_network_001 on cfcr, expected fail (targets.yaml): no NetworkPolicy dataplane"


def report(outcome: str, longrepr: str = "", wasxfail: str | None = None) -> pytest.TestReport:
    fake: Any = types.SimpleNamespace(
        passed=outcome == "passed", skipped=outcome == "skipped", failed=outcome == "failed", longrepr=longrepr
    )
    if wasxfail is not None:
        fake.wasxfail = wasxfail
    return cast(pytest.TestReport, fake)


def raised(error: BaseException) -> pytest.ExceptionInfo[BaseException]:
    try:
        raise error
    except BaseException:
        return pytest.ExceptionInfo.from_current()


def test_phase_status_of_a_passed_and_a_skipped_phase() -> None:
    assert phase_status(report("passed"), None) is Status.PASS
    assert phase_status(report("skipped"), raised(pytest.skip.Exception("not applicable"))) is Status.SKIPPED


def test_an_expected_failure_that_happened_is_fail_and_an_imperative_xfail_is_skipped() -> None:
    assert phase_status(report("skipped", wasxfail="reason"), raised(AssertionError("contradiction"))) is Status.FAIL
    imperative = raised(pytest.xfail.Exception("not here"))
    assert phase_status(report("skipped", wasxfail="not here"), imperative) is Status.SKIPPED


def test_a_strict_xpass_is_pass_and_a_failure_without_exception_is_error() -> None:
    assert phase_status(report("failed", "[XPASS(strict)] check_network_001 on cfcr"), None) is Status.PASS
    assert phase_status(report("failed", "something else"), None) is Status.ERROR


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (AssertionError("expected DENIED, observed ALLOWED"), Status.FAIL),
        (pytest.fail.Exception("a contradiction said with pytest.fail"), Status.FAIL),
        (pytest.fail.Exception(PYTEST_FAILURE_MESSAGE % 900.0), Status.ERROR),
        (Inconclusive("2 cells not observed"), Status.ERROR),
        (RuntimeError("boom"), Status.ERROR),
        (KeyError("tenant"), Status.ERROR),
    ],
)
def test_a_failed_phase_is_fail_only_for_a_contradiction(error: BaseException, status: Status) -> None:
    assert phase_status(report("failed"), raised(error)) is status


# --- Allure labels and credential kinds ---------------------------------------------------------------


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(load_targets(DEFAULT_TARGETS), "run-1", Path("/nowhere"), Path("/nowhere"))


@pytest.mark.parametrize(
    ("tags", "placed", "plans"),
    [
        ({"network", "shared_cluster"}, ("blue", "green"), ("medium", "small")),
        ({"network", "dedicated_cluster"}, ("red",), ("large",)),
        ({"network", "shared_cluster", "dedicated_cluster"}, ("blue", "green", "red"), ("large", "medium", "small")),
        ({"rbac"}, ("blue", "green", "red"), ("large", "medium", "small")),
    ],
)
def test_a_scenario_judges_the_tenants_its_placement_tags_select(
    settings: Settings, tags: set[str], placed: tuple[str, ...], plans: tuple[str, ...]
) -> None:
    scope = judged_scope("network", settings, "pks", tags)
    assert scope.placed == placed
    assert tuple(sorted({scope.plans[t] for t in scope.placed})) == plans


def test_an_areas_layer_is_what_decides_where_the_cells_name_none(settings: Settings) -> None:
    pks = settings.targets.model.product("pks")
    assert area_layers("network", pks, ("small",)) == ("NetworkPolicy dataplane",)
    assert area_layers("rbac", pks, ("large", "small")) == ("authorization (RBAC)",)
    assert area_layers("rbac", settings.targets.model.product("cfcr"), ("default",)) == ("authorization (ABAC)",)
    assert area_layers("rbac", pks, ()) == ()  # no plan judged: no authorization mode decided anything
    assert area_layers("smoke", pks, ("small",)) == ()
    # one item per layer, as decided_by lists observed layers, not one comma-joined string
    assert area_layers("storage", pks, ("small",)) == ("RBAC", "ResourceQuota admission", "storage provisioner")
    assert judged_scope("rbac", settings, "cfcr", {"shared_cluster"}).layers(("default",)) == ("authorization (ABAC)",)


@pytest.mark.parametrize(
    ("credential", "kind"),
    [
        (Credential(token="t0ken-x"), "token"),
        (Credential(cert_pem=b"CERT", key_pem=b"KEY"), "certificate"),
        (Credential(impersonate=("blue-viewer", ("blue:viewers",))), "impersonation"),
    ],
)
def test_a_credentials_kind_comes_from_its_repr_which_holds_no_secret(credential: Credential, kind: str) -> None:
    text = repr(credential)
    assert _credential_kind(text) == kind
    for secret in ("t0ken-x", "CERT", "KEY"):
        assert secret not in text
    assert _credential_kind("no kind here") == "none"
