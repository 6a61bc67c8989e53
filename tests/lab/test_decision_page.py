"""The decision page of real `caas run`s, opened in headless Chromium.

Two runs of check_network_001 on a one-cluster pks tenancy (two tenants on the shared cluster), into one
folder of runs: the first as onboarded, the second with the mutation network-policies (onboarding
without its NetworkPolicies), so the check moves from pass to fail between them. The second run's page
must show that finding (reason, the cell that shows it, the remediation, the deciding layer), the
environment read from the cluster, the change in the trends with its run and version, cells linking to
the Allure report, no horizontal scrolling at 1280 px, and a printable PDF. The screenshot and the PDF
stay in the run folder as the test's artifacts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from harness.settings import lab_home
from provisioning.lab import cluster
from provisioning.lab.cluster import LabPaths
from reports.catalog import load_checks
from tests import browser
from tests.support import run_caas

pytestmark = pytest.mark.lab
SELECTION = "podtopod"  # check_network_001's scenario
TARGETS = textwrap.dedent("""\
    version: 1
    products:
      - name: pks
        backend: lab
        lab: {profile: pks, nodes: 1}
        plans: [{name: small, pod_security: restricted}]
    tenancy:
      - product: pks
        tenants: [{name: blue, plan: small}, {name: green, plan: small}]
    """)


def _run(output: Path, targets: Path, run_id: str, mutation: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CAAS_MUTATION"}
    if mutation:
        env["CAAS_MUTATION"] = mutation
    done = run_caas(
        *("run", "--targets", str(targets), "--output", str(output), "--run-id", run_id, "-k", SELECTION),
        env=env,
        timeout=1200,
    )
    (output / run_id / "caas-run.stdout").write_text(done.stdout + done.stderr)
    return done


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The second run's folder and its process (the first run's folder is beside it)."""
    output = tmp_path_factory.mktemp("runs")
    targets = output / "targets.yaml"
    targets.write_text(TARGETS)
    prefix = os.environ.get("CAAS_CLUSTER_PREFIX", "")
    first, second = f"{prefix}decision-a", f"{prefix}decision-b"
    done = _run(output, targets, first)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    done = _run(output, targets, second, mutation="network-policies")
    paths = LabPaths(lab_home(dict(os.environ)))
    assert not [c for c in cluster.list_clusters(paths) if c.run_id in (first, second)]
    return output / second, done


def test_the_mutated_run_fails_and_its_summary_names_the_unmet_expectation(
    two_runs: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, done = two_runs
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "unmet expectations: 1" in done.stdout
    line = next(ln for ln in done.stdout.splitlines() if ln.strip().startswith("check_network_001 on pks:"))
    assert "FAIL (expected pass or n/a): expected DENIED, observed ALLOWED: " in line
    assert f"decision: {run_dir / 'decision.html'}" in done.stdout


def test_the_page_shows_the_finding_environment_trend_and_links(
    two_runs: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    run_dir, _ = two_runs
    page = (run_dir / "decision.html").as_uri()
    dom = browser.dump_dom(page, tmp_path / "profile")
    finding = re.search(
        r'<article class="finding unmet" data-check="check_network_001" data-product="pks">.*?</article>', dom
    )
    assert finding, "check_network_001 on pks is a finding of the mutated run"
    text = browser.visible_text("<body>" + finding.group(0))
    assert re.search(r"shown by \w+/\w+ → \w+/\w+:\d+/(tcp|udp) allowed", text), text
    assert load_checks()["check_network_001"].remediation in text
    assert "decided by NetworkPolicy dataplane" in text
    assert "credentials real (certificate" in text
    decision = json.loads((run_dir / "decision.json").read_text())
    environment = decision["products"][0]["environment"]
    assert re.fullmatch(r"v1\.\d+\.\d+.*", environment["clusters"][0]["kubernetes_version"])
    assert environment["mutation"] == "network-policies"
    version = environment["clusters"][0]["kubernetes_version"]
    products = browser.visible_text(
        "<body>" + re.search(r'<section id="products">.*?</section>', dom, re.DOTALL).group(0)
    )  # type: ignore[union-attr]
    assert f"Kubernetes {version}" in products
    assert "dataplane enforces NetworkPolicy" in products
    trend = re.search(r'<tr class="changed" data-check="check_network_001" data-product="pks">.*?</tr>', dom)
    assert trend, "the trends show check_network_001 moving on pks"
    assert f"pass → fail in {run_dir.name}" in trend.group(0)
    assert f"{version}, mutation network-policies" in trend.group(0)
    test_id = decision["grid"][0]["cells"]["pks"]["report_test_id"]
    assert test_id
    assert f'href="allure-report/index.html#/{test_id}"' in dom
    assert (run_dir / "allure-report" / "index.html").exists()


def test_the_page_fits_1280_px_and_prints(
    two_runs: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    run_dir, _ = two_runs
    page = (run_dir / "decision.html").as_uri()
    done = subprocess.run(
        [browser.chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom", page],
        capture_output=True, text=True, timeout=browser.BROWSER_TIMEOUT, check=False,
    )  # fmt: skip
    width = re.search(r'data-scroll-width="(\d+)"', done.stdout)
    assert width, done.stderr[-2000:]
    assert int(width.group(1)) <= 1280, "the page scrolls sideways at 1280 px"
    shot = browser.screenshot(page, run_dir / "screenshots" / "decision.png", tmp_path / "profile", size="1280,2000")
    pdf = run_dir / "screenshots" / "decision.pdf"
    printed = subprocess.run(
        [browser.chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page],
        capture_output=True, text=True, timeout=browser.BROWSER_TIMEOUT, check=False,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr[-2000:]
    assert pdf.read_bytes().startswith(b"%PDF")
    print(
        f"decision page screenshot: {shot} ({shot.stat().st_size} bytes); printed: {pdf} ({pdf.stat().st_size} bytes)"
    )
