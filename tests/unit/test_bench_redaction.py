"""bench/redaction.py on a small text: both ways agree, and the sizes are the redactor's registered values."""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path

import pytest

from bench import redaction as bench
from harness.redaction import Redactor


@pytest.mark.parametrize("count", [1, 7, 15, 20])
def test_identities_make_exactly_the_registered_values_counted(count: int) -> None:
    credentials, values = bench.identities(count, random.Random(1))  # noqa: S311 - no secret
    redactor = Redactor()
    redactor.register(*credentials)
    assert len(values) == count
    assert redactor.digests == {hashlib.sha256(v.encode()).hexdigest() for v in values}


def test_the_bench_runs_and_both_ways_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "rows.json"
    argv = ["bench.redaction", "--secrets", "15,30", "--megabytes", "0.05", "--json", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    assert bench.main() == 0
    rows = json.loads(out.read_text())
    assert [row["figure"] for row in rows] == [
        "redaction 15 secrets/0.05 MB: values pass",
        "redaction 15 secrets/0.05 MB: redact",
        "redaction 30 secrets/0.05 MB: values pass",
        "redaction 30 secrets/0.05 MB: redact",
    ]
    assert all(row["seconds"] > 0 and row["baseline_seconds"] > 0 for row in rows)
