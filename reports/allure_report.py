"""The Allure 3 HTML report (npm package `allure`, no Java): its configuration and its generation.

A single self-contained index.html (it opens from disk: a report that fetches its data files does
not, browsers refuse file:// fetches). One environment per product (matched on the `product` label),
three categories (a product gap the targets file expects, a regression, an infrastructure error),
history kept across runs in one JSONL file.

Allure 3's quality gate needs Node 22 (iterator helpers); on Node 20 it crashes. The suite enforces its
gate in Python instead: `caas run`'s exit code comes from the canonical records (every expectation met,
no ERROR and no UNKNOWN), so the report is only generated, never gated, here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # holds package.json and package-lock.json
GENERATE_TIMEOUT = 300.0

PRODUCT_GAP = "Product gap (expected by the targets file)"
REGRESSION = "Regression"
INFRASTRUCTURE = "Infrastructure error"


class AllureUnavailable(RuntimeError):
    """The npm package is not installed (run `npm ci` where package.json is) or Node is missing."""


@dataclass(frozen=True)
class GeneratedReport:
    directory: Path
    index: Path
    seconds: float


def allure_config(
    products: Iterable[str],
    expected_failures: Iterable[tuple[str, str]],
    history_path: Path,
    name: str = "caas-conformance",
) -> str:
    """The allurerc.mjs text: plain data and small predicates, no import (so it loads from any directory)."""
    environments = {
        product: {"name": product, "matcher": f"@@byProduct({json.dumps(product)})@@"} for product in products
    }
    gaps = sorted(f"{check}/{product}" for check, product in expected_failures)
    config = {
        "name": name,
        "historyPath": str(history_path),
        "historyLimit": 60,
        "environments": environments,
        "categories": [
            {"name": PRODUCT_GAP, "matchers": "@@isExpectedGap@@", "groupBy": ["environment"]},
            {"name": REGRESSION, "matchers": {"statuses": ["failed"]}, "groupBy": ["environment"]},
            {"name": INFRASTRUCTURE, "matchers": {"statuses": ["broken"]}, "groupByMessage": True},
        ],
        "plugins": {
            "awesome": {"options": {"reportLanguage": "en", "singleFile": True, "groupBy": ["epic", "feature"]}}
        },
    }
    body = json.dumps(config, indent=2, sort_keys=False)
    body = _unquote_predicates(body)
    return (
        "// Written by caas run for this run; see reports/allure_report.py.\n"
        "const label = (labels, name) => (labels.find((l) => l.name === name) || {}).value;\n"
        "const byProduct = (product) => ({ labels }) => label(labels, 'product') === product;\n"
        f"const expectedGaps = new Set({json.dumps(gaps)});\n"
        "const isExpectedGap = (d) =>\n"  # an expected failure: failed, or xfailed (fixtures/expectations.py)
        "  (d.status === 'failed' || (d.status === 'skipped' && (d.message || '').startsWith('XFAIL'))) &&\n"
        "  expectedGaps.has(`${label(d.labels, 'check')}/${label(d.labels, 'product')}`);\n"
        f"export default {body};\n"
    )


def _unquote_predicates(body: str) -> str:
    """`"@@byProduct(\\"pks\\")@@"` in the JSON becomes the JavaScript expression `byProduct("pks")`."""
    out, start = [], 0
    while (begin := body.find('"@@', start)) != -1:
        end = body.index('@@"', begin + 3)
        out.append(body[start:begin])
        out.append(json.loads(body[begin : end + 3])[2:-2])
        start = end + 3
    out.append(body[start:])
    return "".join(out)


def allure_command(package_dir: Path = PACKAGE_DIR) -> list[str]:
    cli = package_dir / "node_modules" / "allure" / "cli.js"
    node = shutil.which("node")
    if node is None or not cli.exists():
        raise AllureUnavailable(
            f"the Allure 3 CLI is not installed ({cli} or node missing): run `npm ci` in {package_dir}"
        )
    return [node, str(cli)]


def generate(
    results: Path,
    output: Path,
    config: Path,
    package_dir: Path = PACKAGE_DIR,
    timeout: float = GENERATE_TIMEOUT,
) -> GeneratedReport:
    """Run `allure generate` on one results directory; raises with Allure's own output when it fails."""
    import time

    command = [*allure_command(package_dir), "generate", str(results), "-c", str(config), "-o", str(output)]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    index = output / "index.html"
    if done.returncode != 0 or not index.exists():
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        raise AllureUnavailable(f"allure generate exited {done.returncode}: " + " | ".join(tail))
    index.write_text(without_analytics(index.read_text()))
    return GeneratedReport(output, index, time.monotonic() - started)


_ANALYTICS = (
    re.compile(r'<script async src="https://www\.googletagmanager\.com/[^"]*"></script>\s*'),
    re.compile(r"<script>\s*window\.dataLayer = .*?</script>\s*", re.DOTALL),
)


def without_analytics(page: str) -> str:
    """The report page without the analytics tag Allure 3.18 always adds: a nightly report stays offline."""
    for pattern in _ANALYTICS:
        page = pattern.sub("", page)
    return page


def report_test_ids(history: Path, results: Path) -> dict[str, str]:
    """Scenario uuid (allure-python) -> test id in the Allure 3 report just generated.

    The single-file report keeps its data inside index.html; the history line that the generation
    appended lists every test with its id, labels and full name, which is what is matched on (check,
    product, full name). Rows of one Scenario Outline share that key, so they link to one of the rows.
    """
    lines = history.read_text().splitlines() if history.exists() else []
    if not lines:
        return {}
    by_key = {_match_key(entry): str(entry["id"]) for entry in json.loads(lines[-1])["testResults"].values()}
    links = {}
    for path in results.glob("*-result.json"):
        data = json.loads(path.read_text())
        if (key := _match_key(data)) in by_key:
            links[str(data["uuid"])] = by_key[key]
    return links


def _match_key(data: dict[str, Any]) -> tuple[str, str, str]:
    labels = {label["name"]: str(label["value"]) for label in data.get("labels", [])}
    return (labels.get("check", ""), labels.get("product", ""), str(data.get("fullName", "")))


def report_test_link(report_index: str, test_id: str) -> str:
    """A link that opens one test of the Allure 3 report (its hash route)."""
    return f"{report_index}#/{test_id}"
