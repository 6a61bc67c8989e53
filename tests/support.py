"""What the project's tests share: the checkout's root, and the `caas` command as tests spawn it (the
installed entry point's module run by this interpreter, so that a test runs the checkout it is in)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAAS = (sys.executable, "-m", "harness.cli.main")
