"""The Allure 3 configuration the run writes, and the report page without its analytics tag."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reports.allure_report import INFRASTRUCTURE, PRODUCT_GAP, REGRESSION, allure_config, without_analytics


def test_config_has_an_environment_per_product_and_three_categories() -> None:
    text = allure_config(["cfcr", "pks"], [("check_net_001", "cfcr")], Path("/out/history.jsonl"))
    assert 'matcher": byProduct("cfcr")' in text
    assert 'matcher": byProduct("pks")' in text
    assert '"historyPath": "/out/history.jsonl"' in text
    assert text.index(PRODUCT_GAP) < text.index(REGRESSION) < text.index(INFRASTRUCTURE)
    assert 'new Set(["check_net_001/cfcr"])' in text


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by make test")
def test_config_is_valid_javascript_whose_predicates_match(tmp_path: Path) -> None:
    config = tmp_path / "allurerc.mjs"
    config.write_text(allure_config(["cfcr", "pks"], [("check_net_001", "cfcr")], tmp_path / "h.jsonl"))
    probe = tmp_path / "probe.mjs"
    probe.write_text(
        f'import c from "{config}";\n'
        "const t = (check, product, status) => ({status, labels: [{name: 'check', value: check},"
        " {name: 'product', value: product}]});\n"
        "const gap = c.categories[0].matchers;\n"
        "console.log([gap(t('check_net_001','cfcr','failed')), gap(t('check_net_001','pks','failed')),"
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
