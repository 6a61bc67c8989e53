"""Headless Chromium (Debian's `chromium`) for the project's report tests: DOM dumps and screenshots."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

BROWSER_TIMEOUT = 120.0
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=60000"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    raise AssertionError("Debian's chromium is not installed: `make test` installs it (Makefile DEBIAN_PACKAGES)")


def _run(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
        check=False,
    )


def dump_dom(url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran (file:// URLs: the reports open from disk)."""
    done = _run(["--dump-dom", url], profile)
    assert done.returncode == 0, f"chromium --dump-dom {url} failed: {done.stderr[-2000:]}"
    assert done.stdout, f"chromium --dump-dom {url} printed nothing: {done.stderr[-2000:]}"
    return done.stdout


def screenshot(url: str, path: Path, profile: Path, size: str = "1400,1000") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    done = _run([f"--screenshot={path}", f"--window-size={size}", url], profile)
    assert done.returncode == 0, f"chromium --screenshot {url} failed: {done.stderr[-2000:]}"
    assert path.exists(), f"chromium wrote no screenshot of {url}"
    assert path.stat().st_size > 10_000, f"the screenshot of {url} is empty"
    return path


def visible_text(dom: str) -> str:
    body = dom[dom.find("<body") :]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
