"""`caas run --on-cluster KUBECONFIG`: the checks of each product run as one Job in a management cluster.

Per product: a Namespace `caas-<run id>-<product>`, a Secret with the product's targets and the files
they name (provisioning/oncluster/bundle.py: kubeconfig backend only) and a Job that runs the checks'
pytest on that product in the runner image (provisioning/oncluster/runner_image.py,
`caas images build-runner`), all labelled with the run id. The Jobs run at once; each is awaited
(its deadline, then what its pod last did), its log read and the run folder it printed joined into
the local run folder (provisioning/oncluster/results.py), from which `caas run` writes its reports as
for a local run. The namespaces are removed at the end (not with --keep), also when the run is
interrupted; `caas clean --run-id ID --on-cluster KUBECONFIG` removes what is left. A Job scans its run
folder for secrets before printing it (provisioning/oncluster/entry.py); one that found any prints no
results, and the run ends with exit code 4 naming the product and the places.

Input is checked before anything is created or a product's cluster is read: the kubeconfig, every
selected product's backend and files, the runner image (one `caas: error:` line each, exit 2).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError, ConfigErrors, InfrastructureError, SecretLeakError
from harness.run_targets import save_run_targets
from harness.settings import Settings
from provisioning.kube import jobs
from provisioning.kube.client import ApiFailure, from_kubeconfig, request
from provisioning.oncluster import bundle, manifests, results, runner_image

POD_RUN_DIR = Path(manifests.RUN_DIR)  # the run folder inside a Job's pod
JOB_DEADLINE = 3600  # seconds a product's Job may run (activeDeadlineSeconds)
START_SLACK = 300.0  # seconds beyond the deadline to wait for a Job (its pod's start, the image's pull)
API_TIMEOUT = 60.0  # seconds for one request to the management cluster (a pod's whole log)
NAMESPACES_GONE = 300.0  # seconds for the run's namespaces to go
RUNNER_ARCHIVE = "runner.tar"  # in the lab home's images/, as `caas images build-runner` writes it


@dataclass(frozen=True)
class Plan:
    """What an on-cluster run creates: the management cluster's kubeconfig, the image, each product's Secret data."""

    kubeconfig: Path
    image: str
    bundles: dict[str, dict[str, bytes]]


def register_options(parser: Any) -> None:
    """`caas run`'s options for running on a management cluster."""
    parser.add_argument(
        "--on-cluster",
        metavar="KUBECONFIG",
        help="run each product's checks as a Job in the cluster of this kubeconfig (kubeconfig products only)",
    )
    parser.add_argument(
        "--runner-image",
        metavar="REF",
        help="the runner image the Jobs run (default: the one `caas images build-runner` wrote into the lab home)",
    )


def default_archive(lab_home: Path) -> Path:
    return lab_home / "images" / RUNNER_ARCHIVE


def prepare(args: argparse.Namespace, settings: Settings) -> Plan:
    """Check the on-cluster input and build each product's Secret data; nothing is created yet, and
    nothing reads a product's cluster (a kubeconfig user's exec plugin is refused, not run). In this order:
    the management kubeconfig (ConfigError), every selected product (ConfigErrors, a line per refused
    product, e.g. each lab product's backend), then the runner image (ConfigError); each names the option
    or the targets field and the fix."""
    kubeconfig = Path(args.on_cluster).expanduser()
    if not kubeconfig.is_file():
        raise ConfigError(
            "--on-cluster", "", f"{kubeconfig} is no file (fix: give the management cluster's kubeconfig)"
        )
    bundles = product_bundles(settings)
    image = args.runner_image
    if not image:
        archive = default_archive(settings.lab_home)
        if not archive.is_file():
            raise ConfigError(
                "--runner-image",
                "",
                f"no runner image given and {archive} does not exist "
                "(fix: `caas images build-runner`, load it into the nodes or push it, or give --runner-image)",
            )
        image = runner_image.reference_of(archive)
        if not _is_lab_cluster(kubeconfig, settings.lab_home):
            raise ConfigError(
                "--runner-image",
                "",
                f"the runner image built here, {image}, is held only by lab nodes it was imported into, and "
                f"{kubeconfig} is no lab cluster's (fix: push it, `skopeo copy oci-archive:{archive} "
                "docker://REGISTRY/caas/runner:TAG`, and give --runner-image REGISTRY/caas/runner@DIGEST)",
            )
    return Plan(kubeconfig, image, bundles)


def _is_lab_cluster(kubeconfig: Path, lab_home: Path) -> bool:
    """Whether `kubeconfig` is one of the lab's clusters' (under <lab home>/clusters/): only their nodes
    can be given the locally built runner image (`ctr images import`)."""
    return kubeconfig.resolve().is_relative_to((lab_home / "clusters").resolve())


def product_bundles(settings: Settings) -> dict[str, dict[str, bytes]]:
    """Each selected product's Secret data (provisioning/oncluster/bundle.py), by product; ConfigErrors
    with one line per product it refuses (a backend other than kubeconfig, an unreadable file, a
    kubeconfig user with exec), all products checked."""
    with tempfile.TemporaryDirectory(prefix="caas-on-cluster-") as scratch:
        copy = save_run_targets(Path(scratch), settings.targets, settings.selected_products)
        document = yaml.safe_load(copy.read_text())
    where = str(settings.targets.source)
    bundles: dict[str, dict[str, bytes]] = {}
    refused: list[ConfigError] = []
    for product in settings.selected_products:
        try:
            bundles[product] = bundle.product_bundle(document, product, where)
        except ConfigError as exc:
            refused.append(exc)
    if refused:
        raise ConfigErrors(refused)
    return bundles


def job_arguments(command: list[str], product: str) -> list[str]:
    """The Job's entry arguments from the local run's pytest `command` (run_command.pytest_command made
    with the pod's run folder): `RUN_DIR -- PYTEST_OPTION ...`, the targets in the Secret, one product."""
    options = command[command.index("pytest") + 1 :]
    kept = [o for o in options if not o.startswith(("--targets=", "--product="))]
    targets = f"--targets={bundle.MOUNT}/{bundle.TARGETS_KEY}"
    return [manifests.RUN_DIR, "--", kept[0], targets, f"--product={product}", *kept[1:]]


@dataclass(frozen=True)
class Outcome:
    product: str
    exit_code: int  # the checks' pytest exit code, 3 when the Job gave no results
    problem: str  # "" or why the Job gave no results
    seconds: float
    leaked: bool = False  # the Job's scan found secrets in its run folder (problem says where)


def run_jobs(plan: Plan, settings: Settings, run_dir: Path, command: list[str], say: Any) -> int:
    """Run every product's Job at once, join their results into `run_dir`; the highest pytest exit code
    of the products (3 for a product whose Job gave no results, said with its reason). Removes the
    run's namespaces afterwards unless settings.keep, also when interrupted. SecretLeakError (exit code 4)
    when a Job's scan found secrets in its run folder (it printed their count and places, no results)."""
    api = from_kubeconfig(plan.kubeconfig, timeout=API_TIMEOUT)
    try:
        request(api, "GET", "/version")
    except ApiFailure as exc:
        raise InfrastructureError(
            f"--on-cluster {plan.kubeconfig}: the management cluster does not answer: {exc} "
            "(fix: check the kubeconfig's server and credentials)"
        ) from None

    def one(product: str) -> Outcome:
        started = time.monotonic()
        objects = manifests.job_objects(
            settings.run_id,
            product,
            image=plan.image,
            bundle=plan.bundles[product],
            arguments=job_arguments(command, product),
            deadline=JOB_DEADLINE,
        )
        namespace = objects[0]["metadata"]["name"]
        try:
            jobs.create(api, objects)
            say(f"  {product}: Job {manifests.JOB_NAME} started in namespace {namespace} of the management cluster")
            state = jobs.wait_done(api, namespace, manifests.JOB_NAME, JOB_DEADLINE + START_SLACK)
            log = jobs.pod_log(api, namespace, state.pod, manifests.CONTAINER)
            found = results.unpack(log, product)
            with tempfile.TemporaryDirectory(prefix="caas-job-") as scratch:
                files = results.extract(found.archive, Path(scratch))
                results.merge(run_dir, product, Path(scratch), files)
        except results.LeaksReported as exc:
            return Outcome(product, 3, str(exc), time.monotonic() - started, leaked=True)
        except (InfrastructureError, ApiFailure, results.ResultsError) as exc:
            return Outcome(product, 3, str(exc), time.monotonic() - started)
        return Outcome(product, found.exit_code, "", time.monotonic() - started)

    products = list(settings.selected_products)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(products)) as pool:
            outcomes = list(pool.map(one, products))
    finally:
        if not settings.keep:
            left = jobs.namespaces_of_run(api, settings.run_id, manifests.COMPONENT_VALUE)
            jobs.remove_namespaces(api, left, NAMESPACES_GONE)
    for outcome in outcomes:
        said = f"pytest exit code {outcome.exit_code}" if not outcome.problem else f"no results: {outcome.problem}"
        say(f"  {outcome.product}: its Job ended after {outcome.seconds:.0f}s ({said})")
    if leaked := [o for o in outcomes if o.leaked]:
        raise SecretLeakError(
            "\n".join(o.problem for o in leaked)
            + "\n(fix: find what printed the secret in the product's checks; its Job's log holds no results)"
        )
    return max(o.exit_code for o in outcomes)


def clean(kubeconfig: Path, run_id: str) -> list[str]:
    """Remove the namespaces `--on-cluster` created for `run_id` in the management cluster; their names."""
    api = from_kubeconfig(kubeconfig, timeout=API_TIMEOUT)
    names = jobs.namespaces_of_run(api, run_id, manifests.COMPONENT_VALUE)
    jobs.remove_namespaces(api, names, NAMESPACES_GONE)
    return names
