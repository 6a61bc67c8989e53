"""`caas run --on-cluster KUBECONFIG`: the checks of each product run as one Job in a management cluster.

Per product: a Namespace `caas-<run id>-<product>`, a Secret with the product's targets and the files
they name (provisioning/oncluster/bundle.py: kubeconfig backend only), with --runner-pull-secret a copy
of that Secret (a pod names pull Secrets of its own namespace only), and a Job that runs the checks'
pytest on that product in the runner image (provisioning/oncluster/runner_image.py,
`caas images build-runner`), all labelled with the run id. The Job carries this suite's version
(provisioning/oncluster/version.py); a runner image of other source refuses to run (harness/oncluster/entry.py)
and that product gets no results, its line saying both versions. The Jobs run at once; each is awaited
(its deadline, --job-deadline, plus DEADLINE_MARGIN, then what its pod last did), its log read and the
run folder it printed joined into the local run folder (harness/oncluster/results.py), from which
`caas run` writes its reports as for a local run. The namespaces are removed at the end (not with
--keep), also when the run is interrupted; `caas clean --run-id ID --on-cluster KUBECONFIG` removes
what is left. A Job scans its run folder for secrets before printing it (harness/oncluster/entry.py);
one that found any prints no results, and the run ends with exit code 4 naming the product and the places.

Input is checked before anything is created or a product's cluster is read: the kubeconfig, the Job
deadline and the pull Secret's name, every selected product's backend and files, the runner image, then
the pull Secret in the management cluster (one `caas: error:` line each, exit 2). The pull Secret's
content is copied, never shown or written to a file.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import concurrent.futures
import json
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness import redaction
from harness.errors import ConfigError, ConfigErrors, InfrastructureError, SecretLeakError
from harness.oncluster import results
from harness.run_targets import save_run_targets
from harness.settings import Settings
from provisioning.kube import jobs
from provisioning.kube.client import ApiFailure, from_kubeconfig, request
from provisioning.oncluster import bundle, manifests, runner_image, version

POD_RUN_DIR = Path(manifests.RUN_DIR)  # the run folder inside a Job's pod
SOURCE = Path(__file__).resolve().parents[2]  # this suite's source, whose version the Jobs carry
JOB_DEADLINE = 3600  # seconds a product's Job may run (activeDeadlineSeconds), unless --job-deadline
MIN_JOB_DEADLINE = 60  # seconds: below it a Job ends before its image is pulled and pytest collects
# seconds beyond a Job's deadline to wait for it: the deadline counts from the Job's start (its image's pull
# included, Kubernetes' Job docs, "Job termination and cleanup"), and the Job controller then ends its pod
# and marks it Failed (DeadlineExceeded); the local wait never gives up before that
DEADLINE_MARGIN = 300.0
DEADLINE_EXCEEDED = "DeadlineExceeded"  # the reason of a Job's Failed condition past activeDeadlineSeconds
DOCKER_CONFIG = "kubernetes.io/dockerconfigjson"  # the Secret type imagePullSecrets take, and its key:
DOCKER_CONFIG_KEY = ".dockerconfigjson"
PULL_SECRET_NAMESPACE = "default"  # noqa: S105 - a namespace's name; where --runner-pull-secret NAME is read when it names no namespace
# DNS-1123 subdomain (a Secret's name) and label (a namespace's), Kubernetes' "Object Names and IDs"
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
API_TIMEOUT = 60.0  # seconds for one request to the management cluster (a pod's whole log)
NAMESPACES_GONE = 300.0  # seconds for the run's namespaces to go
RUNNER_ARCHIVE = "runner.tar"  # in the lab home's images/, as `caas images build-runner` writes it


@dataclass(frozen=True)
class Plan:
    """What an on-cluster run creates: the management cluster's kubeconfig, the image, each product's Secret
    data, the Jobs' deadline (seconds), this suite's version (version.suite_version) and the runner image's
    pull Secret's .dockerconfigjson (None without --runner-pull-secret; never in the repr)."""

    kubeconfig: Path
    image: str
    bundles: dict[str, dict[str, bytes]] = field(repr=False)
    deadline: int = JOB_DEADLINE
    version: str = ""
    pull_secret: bytes | None = field(default=None, repr=False)


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
        help="the runner image the Jobs run (default, for a lab management cluster only: the one "
        "`caas images build-runner` wrote into the lab home)",
    )
    parser.add_argument(
        "--runner-pull-secret",
        metavar="[NAMESPACE/]NAME",
        help="a Secret of type kubernetes.io/dockerconfigjson in the management cluster (namespace default "
        "unless named) to pull the runner image with; each Job's namespace gets a copy",
    )
    parser.add_argument(
        "--job-deadline",
        metavar="SECONDS",
        help=f"seconds each product's Job may run, its image's pull included (activeDeadlineSeconds; "
        f"at least {MIN_JOB_DEADLINE}, default {JOB_DEADLINE})",
    )


ONLY_ON_CLUSTER = ("runner_image", "runner_pull_secret", "job_deadline")  # options that mean nothing without it


def check_only_with_on_cluster(args: argparse.Namespace) -> None:
    """Raise ConfigError naming the first of ONLY_ON_CLUSTER given without --on-cluster (they would be
    ignored silently: the checks would run here, not in a Job)."""
    if getattr(args, "on_cluster", None):
        return
    for name in ONLY_ON_CLUSTER:
        if getattr(args, name, None) is not None:
            option = "--" + name.replace("_", "-")
            raise ConfigError(
                option, "", "is only for a run on a management cluster (fix: add --on-cluster KUBECONFIG, or drop it)"
            )


def default_archive(lab_home: Path) -> Path:
    return lab_home / "images" / RUNNER_ARCHIVE


def prepare(args: argparse.Namespace, settings: Settings) -> Plan:
    """Check the on-cluster input and build each product's Secret data; nothing is created yet, and
    nothing reads a product's cluster (a kubeconfig user's exec plugin is refused, not run). In this order:
    the management kubeconfig (ConfigError), every selected product (ConfigErrors, a line per refused
    product, e.g. each lab product's backend), then the runner image (ConfigError); each names the option
    or the targets field and the fix; --job-deadline and --runner-pull-secret's form right after the
    kubeconfig. Last, with --runner-pull-secret, the Secret is read from the management cluster
    (ConfigError when it is missing, unreadable or of another type; InfrastructureError when the cluster
    does not answer)."""
    kubeconfig = Path(args.on_cluster).expanduser()
    if not kubeconfig.is_file():
        raise ConfigError(
            "--on-cluster", "", f"{kubeconfig} is no file (fix: give the management cluster's kubeconfig)"
        )
    deadline = job_deadline(getattr(args, "job_deadline", None))
    secret = pull_secret_name(getattr(args, "runner_pull_secret", None))
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
    docker_config = read_pull_secret(kubeconfig, *secret) if secret else None
    return Plan(kubeconfig, image, bundles, deadline, version.suite_version(SOURCE), docker_config)


def job_deadline(given: str | None) -> int:
    """--job-deadline's seconds (JOB_DEADLINE when not given). Raises ConfigError for anything but a whole
    number of at least MIN_JOB_DEADLINE."""
    if given is None:
        return JOB_DEADLINE
    text = given.strip()
    if not text.isdigit() or not text.isascii() or int(text) < MIN_JOB_DEADLINE:
        raise ConfigError(
            "--job-deadline",
            "",
            f"{given!r} is no whole number of seconds of at least {MIN_JOB_DEADLINE} "
            f"(fix: give e.g. --job-deadline {JOB_DEADLINE}; the Job's time includes pulling its image)",
        )
    return int(text)


def pull_secret_name(given: str | None) -> tuple[str, str] | None:
    """--runner-pull-secret as (namespace, name), the namespace PULL_SECRET_NAMESPACE unless given as
    `NAMESPACE/NAME`; None when not given. Raises ConfigError for a name that is no DNS-1123 subdomain
    (at most 253 characters) or a namespace that is no DNS-1123 label (at most 63), the rules of
    Kubernetes' "Object Names and IDs"."""
    if given is None:
        return None
    namespace, _, name = given.rpartition("/") if "/" in given else (PULL_SECRET_NAMESPACE, "", given)
    fix = "(fix: name the Secret as Kubernetes does: lowercase letters, digits, '-' and '.', e.g. registry-login)"
    if not (len(name) <= 253 and _SUBDOMAIN.fullmatch(name)):
        raise ConfigError(
            "--runner-pull-secret",
            "",
            f"{name!r} is no Secret name (a DNS-1123 subdomain, 253 characters at most) {fix}",
        )
    if not (len(namespace) <= 63 and _LABEL.fullmatch(namespace)):
        raise ConfigError(
            "--runner-pull-secret",
            "",
            f"{namespace!r} is no namespace name (a DNS-1123 label, 63 characters at most) "
            "(fix: give NAMESPACE/NAME with the Secret's namespace, or NAME for one in namespace default)",
        )
    return namespace, name


def read_pull_secret(kubeconfig: Path, namespace: str, name: str) -> bytes:
    """The .dockerconfigjson of Secret `name` in `namespace` of the management cluster (never shown).
    Raises ConfigError (naming --runner-pull-secret and the fix) when it is missing, the kubeconfig may
    not read it, or it is not of type kubernetes.io/dockerconfigjson; InfrastructureError when the
    cluster does not answer."""
    api = from_kubeconfig(kubeconfig, timeout=API_TIMEOUT)
    where = f"Secret {name} in namespace {namespace} of the management cluster"
    try:
        found = request(api, "GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
    except ApiFailure as exc:
        if exc.status == 404:
            raise ConfigError(
                "--runner-pull-secret",
                "",
                f"no {where} (fix: `kubectl -n {namespace} create secret docker-registry {name} "
                "--docker-server=REGISTRY --docker-username=USER --docker-password=...`, or name an existing one)",
            ) from None
        if exc.status in (401, 403):
            raise ConfigError(
                "--runner-pull-secret",
                "",
                f"the management kubeconfig may not read {where} (fix: allow it `get` on that Secret)",
            ) from None
        raise InfrastructureError(
            f"--runner-pull-secret: reading {where} failed: {exc.message} (fix: check the kubeconfig's server)"
        ) from None
    data = (found.get("data") or {}).get(DOCKER_CONFIG_KEY)
    if found.get("type") != DOCKER_CONFIG or not data:
        raise ConfigError(
            "--runner-pull-secret",
            "",
            f"{where} is of type {found.get('type')}, not {DOCKER_CONFIG} with a {DOCKER_CONFIG_KEY} "
            f"(fix: `kubectl create secret docker-registry`)",
        )
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            "--runner-pull-secret", "", f"{where} has a {DOCKER_CONFIG_KEY} that is no base64 (fix: recreate it)"
        ) from None
    redaction.register(data, content, *_logins(content))  # never in a log line or an artifact
    return content


def _logins(docker_config: bytes) -> list[str]:
    """The `auth` and `password` values of a .dockerconfigjson's registries (what redaction must know)."""
    try:
        registries = json.loads(docker_config).get("auths") or {}
    except (ValueError, AttributeError):
        return []
    found = []
    for entry in registries.values() if isinstance(registries, dict) else []:
        if isinstance(entry, dict):
            found += [str(entry[k]) for k in ("auth", "password") if entry.get(k)]
    return found


def wait_seconds(deadline: int) -> float:
    """How long the launcher waits for a Job of `deadline` seconds: beyond its deadline by DEADLINE_MARGIN."""
    return deadline + DEADLINE_MARGIN


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
            deadline=plan.deadline,
            version=plan.version,
            pull_secret=plan.pull_secret,
        )
        namespace = objects[0]["metadata"]["name"]
        try:
            jobs.create(api, objects)
            say(f"  {product}: Job {manifests.JOB_NAME} started in namespace {namespace} of the management cluster")
            state = jobs.wait_done(api, namespace, manifests.JOB_NAME, wait_seconds(plan.deadline))
            try:
                found = results.unpack(jobs.pod_log(api, namespace, state.pod, manifests.CONTAINER), product)
            except results.LeaksReported:
                raise
            except (ApiFailure, results.ResultsError):
                if state.reason != DEADLINE_EXCEEDED:
                    raise
                raise InfrastructureError(
                    f"{product}: its Job passed its deadline of {plan.deadline}s (activeDeadlineSeconds, its "
                    "image's pull included) before it printed results (fix: a longer --job-deadline, or fewer "
                    "checks with -k)"
                ) from None
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
