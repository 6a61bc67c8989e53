"""Benchmark of redaction (issue 23): `harness.redaction.Redactor.redact` on ~1 MB of matrix-like text (the
access and network matrix reports attached to every scenario, a few credentials among them) against the
baseline it replaced, measured in the same run on the same text and registered values: one regex
alternation of every registered value (longest first), then the same secret shapes. Each size is a number
of registered values as tenant identities make them: EC private keys (a PEM is registered whole, stripped,
base64-encoded and line by line: 6 values), tokens (2 values: as they are and base64-encoded) and a short
password (1 value: base64-encoded).

    python -m bench.redaction [--secrets 15,75,150] [--megabytes 1] [--repeat 1] [--json FILE]

Prints, per size, the seconds both ways of the registered values' pass alone (what grew with the secrets)
and of the whole `redact` (that pass plus the secret shapes, whose cost does not depend on the secrets), the
ratios baseline/automaton (how many times faster), and whether both ways give the same output (they must:
the text has no overlapping secrets, where the two differ). Exit status 1 when they do not.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import re
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from checks.matrix import Cell, Matrix
from harness.redaction import MARKER, Redactor

SEED = 23
MIN_LENGTH = 8  # harness.redaction's shortest registered value
_TOKEN_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"  # noqa: S105 - an alphabet


def forms(value: str) -> list[str]:
    """The values `Redactor.register(value)` holds (its rule, checked against its digests by `identities`)."""
    found = [value, value.strip(), base64.b64encode(value.encode()).decode()]
    found += [line.strip() for line in value.splitlines() if len(line.strip()) >= 16 and not line.startswith("-----")]
    return [form for form in dict.fromkeys(found) if len(form) >= MIN_LENGTH]


def _key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def identities(count: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """(credentials to register, the `count` distinct values a redactor holds once they are registered):
    a key and a token per identity while they fit, then one short password if one value is left."""
    credentials: list[str] = []
    values: list[str] = []
    while len(values) < count:
        left = count - len(values)
        if left >= 6 and len(credentials) % 2 == 0:
            credential = _key_pem()
        elif left >= 2:
            credential = "".join(rng.choices(_TOKEN_CHARACTERS, k=43))
        else:
            credential = "".join(rng.choices(_TOKEN_CHARACTERS, k=6))  # shorter than 8: only its base64
        credentials.append(credential)
        values += forms(credential)
    return credentials, values


def matrix_text(size: int, credentials: list[str], rng: random.Random) -> str:
    """About `size` characters as a matrix attachment has them: a reachability matrix rendered by
    `checks.matrix` (pods by ports of 30 tenants), then mismatch lines, a credential every ~200 of them."""
    tenants = [f"t{i:03d}" for i in range(1, 31)]
    columns = [f"{t}/app-{a}:{port}/tcp" for t in tenants for a in range(2) for port in (8080, 8081)]
    rows: list[str] = []
    while sum(len(r) + 3 * len(columns) for r in rows) < size // 2:
        rows.append(f"{tenants[len(rows) % len(tenants)]}/app-{len(rows) // len(tenants)}")
    cells = {
        (r, c): Cell.ALLOWED if r[:4] == c[:4] else rng.choice((Cell.DENIED, Cell.DENIED, Cell.ALLOWED))
        for r in rows
        for c in columns
    }
    lines = [Matrix.build(rows, columns, cells).render("observed (. allowed, X denied)")]
    length = len(lines[0])
    while length < size:
        row, column = rng.choice(rows), rng.choice(columns)
        line = f"expected DENIED, observed ALLOWED: {row} -> {column} (connected in 3 ms)"
        if credentials and len(lines) % 200 == 199:
            credential = rng.choice(credentials).strip()
            line = f"kubeconfig of {row[:4]}: user {row[:4]}-admin credential {credential} (https://10.0.0.1:6443)"
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines) + "\n"


SHAPES = Redactor()  # no registered value: applies only the secret shapes


def alternation(values: list[str]) -> re.Pattern[str]:
    """The redaction of registered values before issue 23: one alternation of them, longest first, which
    `re` tries value by value at every position of the text."""
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def regex_redact(pattern: re.Pattern[str], text: str) -> str:
    """`Redactor.redact` before issue 23: the alternation of registered values, then the secret shapes."""
    return SHAPES.redact(pattern.sub(MARKER, text))


def timed(redact: Callable[[str], str], text: str, repeat: int) -> tuple[float, str]:
    """(the fewest seconds of `repeat` runs of `redact` on `text`, its output)."""
    best, out = float("inf"), ""
    for _ in range(repeat):
        started = time.perf_counter()
        out = redact(text)
        best = min(best, time.perf_counter() - started)
    return best, out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redaction", description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", default="15,75,150", help="registered values per size, comma-separated")
    parser.add_argument("--megabytes", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure; the fewest seconds count")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rng = random.Random(SEED)  # noqa: S311 - reproducible text, no secret
    size = int(args.megabytes * 1_000_000)
    print(f"redaction of {args.megabytes:g} MB of matrix-like text (load {os.getloadavg()[0]:.1f})")
    print(f"{'':>7}  {'registered values pass':^30}  {'whole redact (+ secret shapes)':^30}")
    ways = f"{'automaton s':>11} {'regex s':>9} {'ratio':>7}"
    print(f"{'secrets':>7}  {ways}  {ways}  same")
    rows: list[dict[str, object]] = []
    failed = False
    for count in (int(n) for n in args.secrets.split(",")):
        credentials, values = identities(count, rng)
        redactor = Redactor()
        redactor.register(*credentials)
        if redactor.digests != {hashlib.sha256(v.encode()).hexdigest() for v in values}:
            raise SystemExit("bench.redaction: the redactor holds other values than the baseline (fix: `forms`)")
        text = matrix_text(size, credentials, rng)
        pattern = alternation(values)
        passes = (
            timed(redactor._redact_registered, text, args.repeat),  # the pass the issue measured
            timed(partial(pattern.sub, MARKER), text, args.repeat),
        )
        wholes = (
            timed(redactor.redact, text, args.repeat),
            timed(partial(regex_redact, pattern), text, args.repeat),
        )
        same = (
            passes[0][1] == passes[1][1] and wholes[0][1] == wholes[1][1] and not any(v in wholes[0][1] for v in values)
        )
        failed |= not same
        (pass_s, _), (pass_base, _) = passes
        (whole_s, _), (whole_base, _) = wholes
        print(
            f"{count:>7}  {pass_s:11.3f} {pass_base:9.3f} {pass_base / pass_s:6.1f}x  "
            f"{whole_s:11.3f} {whole_base:9.3f} {whole_base / whole_s:6.1f}x  {'yes' if same else 'NO'}"
        )
        for what, seconds, baseline in (("values pass", pass_s, pass_base), ("redact", whole_s, whole_base)):
            rows.append(
                {
                    "figure": f"redaction {count} secrets/{args.megabytes:g} MB: {what}",
                    "seconds": seconds,
                    "baseline": "regex alternation (before #23)",
                    "baseline_seconds": baseline,
                }
            )
    if args.json:
        Path(args.json).write_text(json.dumps(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
