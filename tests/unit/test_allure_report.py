"""The Allure 3 configuration the run writes, and the report page without its analytics tag."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reports.allure_report import (
    INFRASTRUCTURE,
    PACKAGE_DIR,
    PRODUCT_GAP,
    REGRESSION,
    allure_config,
    generate,
    report_test_ids,
    without_analytics,
)


def test_config_has_an_environment_per_product_and_three_categories() -> None:
    text = allure_config(["cfcr", "pks"], [("check_network_001", "cfcr")], Path("/out/history.jsonl"))
    assert 'matcher": byProduct("cfcr")' in text
    assert 'matcher": byProduct("pks")' in text
    assert '"historyPath": "/out/history.jsonl"' in text
    assert text.index(PRODUCT_GAP) < text.index(REGRESSION) < text.index(INFRASTRUCTURE)
    assert 'new Set(["check_network_001/cfcr"])' in text


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by make test")
def test_config_is_valid_javascript_whose_predicates_match(tmp_path: Path) -> None:
    config = tmp_path / "allurerc.mjs"
    config.write_text(allure_config(["cfcr", "pks"], [("check_network_001", "cfcr")], tmp_path / "h.jsonl"))
    probe = tmp_path / "probe.mjs"
    probe.write_text(
        f'import c from "{config}";\n'
        "const t = (check, product, status) => ({status, labels: [{name: 'check', value: check},"
        " {name: 'product', value: product}]});\n"
        "const gap = c.categories[0].matchers;\n"
        "console.log([gap(t('check_network_001','cfcr','failed')), gap(t('check_network_001','pks','failed')),"
        " c.environments.pks.matcher(t('x','pks','passed')), c.environments.cfcr.matcher(t('x','pks','passed'))]"
        ".join(','));\n"
    )
    done = subprocess.run(["node", str(probe)], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "true,false,true,false", done.stderr


def test_the_analytics_tag_is_removed() -> None:
    page = (
        '<head>\n<script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>\n'
        "<script>\n  window.dataLayer = window.dataLayer || [];\n  gtag('js', new Date());\n</script>\n"
        "<script async>window.allureReportDataReady = false;</script></head>"
    )
    cleaned = without_analytics(page)
    assert "googletagmanager" not in cleaned
    assert "gtag" not in cleaned
    assert "allureReportDataReady" in cleaned


def _result(tmp: Path, name: str, product: str, check: str) -> str:
    """One allure-pytest-bdd result file labelled as the suite's plugin labels a scenario; its uuid."""
    import json
    import uuid

    from fixtures.plugin import identity_labels

    test_uuid = str(uuid.uuid4())
    labels = [{"name": n, "value": v} for n, v in identity_labels(product, {check, "network"})]
    full_name = f"network/pod_to_pod.feature:{name}"
    (tmp / f"{uuid.uuid4()}-result.json").write_text(
        json.dumps(
            {
                "name": name,
                "fullName": full_name,
                "uuid": test_uuid,
                "testCaseId": full_name,  # shared by the products, as allure-pytest-bdd writes it
                "historyId": f"{full_name}/{product}",
                "status": "passed",
                "start": 1,
                "stop": 2,
                "labels": labels,
                "parameters": [{"name": "product_name", "value": repr(product)}],
            }
        )
    )
    return test_uuid


@pytest.mark.skipif(not (PACKAGE_DIR / "node_modules" / "allure").exists(), reason="npm ci is run by make test")
def test_every_scenario_of_a_check_is_a_test_of_its_own_in_the_report(tmp_path: Path) -> None:
    results = tmp_path / "allure-results"
    results.mkdir()
    uuids = [
        _result(results, scenario, product, "check_network_001")
        for scenario in ("Pod-to-pod traffic stays inside each tenant", "Egress ports lead to no other tenant")
        for product in ("cfcr", "pks")
    ]
    config = tmp_path / "allurerc.mjs"
    history = tmp_path / "history.jsonl"
    config.write_text(allure_config(["cfcr", "pks"], [], history))
    generate(results, tmp_path / "report", config)
    links = report_test_ids(history, results)
    assert sorted(links) == sorted(uuids), "every scenario links to a test of the report"
    assert len(set(links.values())) == 4, "no two scenarios share a test of the report"
