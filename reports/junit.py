"""checks.junit.xml: one test case per check x product, so CI systems show verdicts, reasons and fixes natively.

pytest's junit.xml names scenarios by their test functions; this file names them by check. Its shape
follows the JUnit XML that Jenkins, GitLab and the GitHub test-report actions read (kube-bench's --junit
does the same, one testcase per benchmark id): a testsuite per product, testcase name "check_id: title",
classname "caas.<product>.<area>". An unmet expectation is a <failure> whose message is the observed
reason and whose text adds the cell, the deciding layer and the remediation; an ERROR or a check with no
result is an <error>; a gap the targets file expects and a check not applicable to the product are
<skipped> with their reason (CI shows them, and they fail nothing).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from reports.records import decided_by_text

JUNIT_FILE = "checks.junit.xml"


def _detail(cell: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    lines = [f"observed: {cell['observed_reason'] or cell['status']}"]
    if cell["evidence_cell"]:
        lines.append(f"shown by: {cell['evidence_cell']}")
    if cell["expected"]:
        lines.append(f"expected by the targets file: {cell['expected']} ({cell['expectation_reason']})")
    lines += [
        f"decided by: {decided_by_text(cell['decided_by'], cell['decided_by_source'])}",
        f"plans: {', '.join(cell['plans']) or '-'}; identities: {cell['identity'] or 'not recorded'}",
        f"to fix: {row['remediation']}",
        f"severity: {row['severity']}" + (f"; answers: {', '.join(row['anchors'])}" if row["anchors"] else ""),
    ]
    return "\n".join(lines)


def to_junit(decision: Mapping[str, Any]) -> str:
    """The JUnit XML text of a decision (`reports.findings.build_decision`)."""
    suites = ET.Element("testsuites", name=f"caas-conformance {decision['run_id']}")
    for product in (p["name"] for p in decision["products"]):
        suite = ET.SubElement(suites, "testsuite", name=product)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for row in decision["grid"]:
            cell = row["cells"][product]
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"{row['check']}: {row['title']}",
                classname=f"caas.{product}.{row['area']}",
            )
            counts["tests"] += 1
            props = ET.SubElement(case, "properties")
            for name, value in (
                ("check", row["check"]),
                ("severity", row["severity"]),
                ("status", cell["status"]),
                ("report_test_id", cell["report_test_id"]),
            ):
                ET.SubElement(props, "property", name=name, value=str(value))
            reason = cell["observed_reason"] or cell["expectation_reason"] or cell["status"]
            if cell["status"] in ("error", "unknown"):
                counts["errors"] += 1
                element = ET.SubElement(
                    case, "error", message=f"{cell['status'].upper()}: {reason}", type=cell["status"]
                )
                element.text = _detail(cell, row)
            elif not cell["meets_expectation"]:
                counts["failures"] += 1
                expected = f" (expected {cell['expected']})" if cell["expected"] else ""
                element = ET.SubElement(
                    case, "failure", message=f"{cell['status'].upper()}{expected}: {reason}", type=cell["status"]
                )
                element.text = _detail(cell, row)
            elif cell["status"] == "fail":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=f"expected failure (product gap): {cell['expectation_reason']}")
            elif cell["status"] == "skipped":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=f"not applicable to {product}")
        for key, value in counts.items():
            suite.set(key, str(value))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
