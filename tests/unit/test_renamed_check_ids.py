"""`pytest -k` with an old check id (reports.catalog.RENAMED_PREFIXES) selects nothing: the plugin refuses it
with one line naming the new id (fixtures/plugin.py, issue 18), before collection and provisioning."""

from __future__ import annotations

import subprocess
import sys

from reports.catalog import renamed_check_ids, renamed_keyword_problem
from tests.support import ROOT


def test_old_ids_in_a_keyword_expression_are_found_with_their_new_names() -> None:
    assert renamed_check_ids("check_net_001") == [("check_net_001", "check_network_001")]
    assert renamed_check_ids("pks and (check_priv_004 or check_storage_002)") == [
        ("check_priv_004", "check_privileged_004")
    ]
    assert renamed_check_ids("check_network_001 or storage or check_sto") == []


def test_pytest_k_with_an_old_id_fails_with_one_line_naming_the_new_one() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-k", "check_net_001", "tests/unit/test_reclaim.py"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's ExitCode.USAGE_ERROR
    errors = [line for line in (done.stdout + done.stderr).splitlines() if "caas: error" in line]
    assert errors == [
        "ERROR: caas: error: -k check_net_001: an old check id, now check_network_001 (fix: -k check_network_001)"
    ]


def test_the_refusal_names_every_old_id_and_renames_them_all_in_the_fix() -> None:
    assert renamed_keyword_problem("pks and check_net_001") == (
        "-k check_net_001",
        "an old check id, now check_network_001 (fix: -k 'pks and check_network_001')",
    )
    assert renamed_keyword_problem("check_net_001 or check_priv_004") == (
        "-k check_net_001, check_priv_004",
        "old check ids, now check_network_001, check_privileged_004 "
        "(fix: -k 'check_network_001 or check_privileged_004')",
    )
    assert renamed_keyword_problem("check_network_001") is None
