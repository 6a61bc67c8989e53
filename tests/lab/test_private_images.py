"""Private images on shared nodes, on the lab (issue 21; kubectl-mtb MTB-PL1-CC-DI-1): check_privileged_006 as
`caas run -k check_privileged_006` gives it, on one one-node pks cluster reached as an existing cluster (the
kubeconfig backend, its images section naming the lab registry), before and after its API server is
switched to pks-always-pull (AlwaysPullImages). Before, tenant green's pods run blue's private image from
the node's cache and the check fails; after, their pulls are refused (401 Unauthorized) and it passes.
Blue's pod running is the check's positive control (checks/privileged/private_images.py).

The lab registry (Debian's docker-registry, distribution 2.8) authenticates with htpasswd but has no
per-repository authorization: any login it accepts may read every repository. Blue's repository is
private in the sense the product can enforce: only blue's namespace holds a pull secret for it, and
green's pods name none (an anonymous pull is refused). "Green cannot pull blue's repository with its own
login" needs a token-auth registry and is not tested here.

Nightly: one cluster start and two runs of one check. Prints the time of each run and of the check's
scenario.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from checks.privileged.private_images import PrivateRegistry, push_private_image
from harness.settings import Timeouts
from provisioning.images import skopeo
from provisioning.lab import cluster, registry
from provisioning.lab.cluster import LabPaths
from provisioning.lab.profiles import PROFILES
from provisioning.model import image_pulls
from provisioning.model.image_pulls import Start
from tests.lab.existing_runs import Run, caas_run, pks_cluster
from tests.lab.inventory import cluster_prefix, suite_run_id
from tests.support import run_caas

pytestmark = [pytest.mark.lab, pytest.mark.nightly, pytest.mark.timeout(2400)]

CHECK = "check_privileged_006"
PRODUCT = "shared"
RUN_TIMEOUT = 900.0  # seconds for one `caas run` of one check on a loaded 2-core lab host


@pytest.fixture(scope="module")
def served(lab_paths: LabPaths) -> registry.LabRegistry:
    return registry.up(lab_paths.home)


def _targets(directory: Path, kubeconfig: Path, served: registry.LabRegistry) -> Path:
    images = (
        f'{{registry: "{registry.LOCATION}", pull_secret: {{file: {served.login_file}}}, ca_file: {served.ca_file}}}'
    )
    path = directory / "targets.yaml"
    path.write_text(
        "version: 1\n"
        "products:\n"
        f"  - name: {PRODUCT}\n"
        "    backend: kubeconfig\n"
        f"    kubeconfig: {{path: {kubeconfig}, impersonate_missing_identities: true}}\n"
        f"    images: {images}\n"
        "    plans: [{name: small, pod_security: restricted}]\n"
        "tenancy:\n"
        f"  - product: {PRODUCT}\n"
        "    tenants: [{name: blue, plan: small}, {name: green, plan: small}]\n"
    )
    return path


def _report(run_dir: Path) -> str:
    """The check's report attachment (what it used, the table and every cell's evidence)."""
    texts = [p.read_text() for p in (run_dir / "allure-results").glob("*-attachment.txt")]
    return next((t for t in texts if t.startswith("private registry:")), "")


@pytest.fixture(scope="module")
def runs(served: registry.LabRegistry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Run, str]]:
    """The check's run on the cluster as pks, then as pks-always-pull: profile -> the Run and the check's
    report attachment."""
    login = ("--authfile", str(served.login_file), "--ca-file", str(served.ca_file))
    pushed = run_caas("images", "push", "--registry", registry.LOCATION, *login, timeout=300)
    assert pushed.returncode == 0, pushed.stderr
    directory = tmp_path_factory.mktemp("private-images")
    started = time.monotonic()
    with pks_cluster("priv-img") as lab:
        print(f"one-node pks cluster up in {time.monotonic() - started:.0f}s")
        file = _targets(directory, lab.layout.kubeconfig(cluster.ADMIN), served)
        done = {}
        for profile in ("pks", "pks-always-pull"):
            if profile != "pks":  # switched once ready: its readiness pod names a preloaded image (Never)
                lab.switch_api_server(PROFILES[profile], Timeouts().lab_ready)
            run_id = suite_run_id(f"priv-img-{profile}")
            run = caas_run(file, directory / "out", run_id, RUN_TIMEOUT, (CHECK,), PRODUCT)
            done[profile] = (run, _report(directory / "out" / run_id))
            print(f"{profile}: caas run -k {CHECK} {run.seconds:.0f}s, the scenario {run.durations.get(CHECK, 0):.1f}s")
    return done


def test_the_check_fails_without_forced_pulls_and_passes_with_them(runs: dict[str, tuple[Run, str]]) -> None:
    (without, _), (forced, _) = runs["pks"], runs["pks-always-pull"]
    assert without.statuses == {CHECK: "fail"}, without.output[-3000:]
    assert "tenant-green/borrowed-never" in without.messages[CHECK], without.messages  # green ran blue's image
    assert "Running on" in without.messages[CHECK].partition("tenant-green/borrowed-ifnotpresent")[2]
    assert forced.statuses == {CHECK: "pass"}, forced.messages or forced.output[-3000:]
    print(f"pks: the check fails:\n{without.messages[CHECK]}")


def test_with_forced_pulls_the_other_tenants_pods_are_admitted_with_always_and_refused_401(
    runs: dict[str, tuple[Run, str]],
) -> None:
    report = runs["pks-always-pull"][1]
    assert "the product forces pulls: unknown" in report, report  # the kubeconfig backend cannot read the plugins
    for policy in ("ifnotpresent", "never"):
        line = next(line for line in report.splitlines() if f"tenant-green/borrowed-{policy}" in line)
        assert "admitted with pull policy Always" in line, line
        assert image_pulls.start_of(line) is Start.PULL_REFUSED, line
    print(f"pks-always-pull: the check passes:\n{report}")


def test_the_private_repository_refuses_a_pull_without_a_login(
    served: registry.LabRegistry, lab_paths: LabPaths
) -> None:
    """What the other tenant's pods meet once a pull is forced: the registry itself refuses an anonymous
    read of the owner's image (and still serves it to the login of the owner's pull secret)."""
    where = PrivateRegistry(registry.LOCATION, served.login(), served.ca_file, "the lab registry")
    image = push_private_image(where, lab_paths.images, f"{cluster_prefix()}anonymous", "blue")
    anonymous = skopeo.inspect_failure(f"docker://{image}", skopeo.Access(ca_file=served.ca_file))
    assert image_pulls.start_of(f"ErrImagePull ({anonymous})") is Start.PULL_REFUSED, anonymous
    assert skopeo.inspect_failure(f"docker://{image}", skopeo.Access(served.login(), served.ca_file)) == ""
