"""Probing from outside the clusters: a client on the provider's network that is no pod and no
node (on the lab, a network namespace of its own on the lab bridge; elsewhere, the machine running
the suite). It runs the same `caas-probe connect` as the pods do, so an outside observation is
classified exactly like an inside one (observation only, never asserts)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from checks.matrix import Cell, Matrix
from checks.network.probe import Target, connect_command, parse_results

OUTSIDE = "outside"
# The negative control: an address of RFC 5737's TEST-NET-2, routed nowhere. When it "connects", something on
# this machine's path (a transparent proxy, a gateway) completes every TCP handshake itself, and no
# connection observed from here is evidence that the cluster let it through.
NOWHERE = Target("nowhere (TEST-NET-2)", "198.51.100.7", 8080, "tcp")


def probe_binary(lab_home: Path) -> Path:
    """The `caas-probe` the lab build compiled for its probe image, run here on the machine itself."""
    return lab_home / "bin" / "caas-probe"


def observe_from_outside(
    probe_binary: Path, targets: Sequence[Target], probe_timeout: float, inside: Sequence[str] = ()
) -> tuple[Matrix, int]:
    """One `caas-probe connect` against every target, run on this machine (prefixed by `inside`, the
    command that enters the outside client's network namespace on the lab); a failed run is ERROR. The
    same run tries NOWHERE: if it connects, every connection observed is ERROR, never ALLOWED."""
    cells: dict[tuple[str, str], Cell] = {}
    evidence: dict[tuple[str, str], str] = {}
    try:
        result = subprocess.run(
            [*inside, str(probe_binary), *connect_command([*targets, NOWHERE], probe_timeout)],
            capture_output=True,
            text=True,
            timeout=probe_timeout + 20,
            check=False,
        )
        outcome = (
            parse_results(result.stdout)
            if result.returncode == 0
            else {t.column: (Cell.ERROR, f"probe exited {result.returncode}: {result.stderr[:200]}") for t in targets}
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        outcome = {t.column: (Cell.ERROR, f"probe could not run: {exc}") for t in targets}
    control = outcome.pop(NOWHERE.column, None)
    if control is not None and control[0] is Cell.ALLOWED:
        why = (
            f"this machine also connects to {NOWHERE.host}:{NOWHERE.port}, an address routed nowhere (RFC 5737): "
            "something on its path answers every connection, so a connection from here proves nothing"
        )
        outcome = {c: (Cell.ERROR, why) if cell is Cell.ALLOWED else (cell, d) for c, (cell, d) in outcome.items()}
    for column, (cell, detail) in outcome.items():
        cells[(OUTSIDE, column)] = cell
        evidence[(OUTSIDE, column)] = detail
    return Matrix.build([OUTSIDE], [t.column for t in targets], cells, evidence), len(targets)
