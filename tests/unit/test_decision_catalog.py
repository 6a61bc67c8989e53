"""Every check of features/checks.yaml names its severity and its anchors, as the decision page shows them."""

from __future__ import annotations

import re

import yaml

from reports.catalog import ANCHOR_KINDS, CATALOG, SEVERITIES, load_checks


def test_every_entry_names_a_severity_and_well_formed_anchors() -> None:
    raw = yaml.safe_load(CATALOG.read_text())
    missing = [check for check, entry in raw.items() if "severity" not in entry or "anchors" not in entry]
    assert not missing, f"add severity and anchors to {missing} in {CATALOG}"
    for check, entry in raw.items():
        assert entry["severity"] in SEVERITIES, check
        assert set(entry["anchors"] or {}) <= set(ANCHOR_KINDS), check
        for cve in (entry["anchors"] or {}).get("cve", []):
            assert re.fullmatch(r"CVE-\d{4}-\d{4,}", cve), (check, cve)
        for mtb in (entry["anchors"] or {}).get("mtb", []):
            assert re.match(r"(kubectl-mtb MTB-PL[12]-(CC|BC)-[A-Z]+-\d+ \(|MTB draft: )", mtb), (check, mtb)


def test_catalog_records_carry_severity_and_anchors() -> None:
    checks = load_checks()
    assert checks["check_network_008"].anchor_list() == ["CVE-2020-8554"]
    assert checks["check_privileged_001"].severity == "blocker"
    assert "Pod Security: Host Ports" in checks["check_privileged_001"].anchor_list()
    assert min(c.severity_rank for c in checks.values()) == 0
