"""A bare cfcr cluster onboarded by its provider gives every check the `lab` backend's cfcr verdict (the
nightly part of issue 17's first Done-when).

The pks half (tests/lab/test_bare_parity.py) runs with `onboarding: suite`. On cfcr that cannot work: cfcr
authorizes by ABAC, whose policy is a file on the API server's host that a kubeconfig cannot write, so
`caas check-config` refuses an ABAC plan under the suite's onboarding on the kubeconfig backend. A CFCR
operator onboarded tenants on the host; so here the test plays that provider, as the lab backend does for
its cfcr clusters (provisioning/backends/lab.py), and the run judges the result with `onboarding: existing`:

1. a bare one-node cfcr lab cluster (no suite image on its node, no suite identity made), its node pulling
   the suite's images from the lab registry with a pull secret;
2. the provider's onboarding: per tenant of the example's cfcr tenancy, the reference onboarding's objects
   (provisioning.model.onboarding.tenant_manifests: namespace with its pod-security labels,
   NetworkPolicies, quota, limits) in a namespace of the provider's naming and with the provider's labels
   instead of the suite's; each tenant identity a static token in the API server's token file (CFCR's
   authentication: provisioning/lab/profiles.py) and the tenants' ABAC lines
   (provisioning.model.onboarding.abac_policy_lines) appended to the API server's policy file, then one
   API server restart, as an ABAC operator had to;
3. `caas run` of product bare-cfcr: the example's cfcr plans (authorization: abac), tenancy and
   expectations on the kubeconfig backend, `onboarding: existing`, each tenant identity's token named as
   a context of the provider's kubeconfig; run from a lab outside client, as tests/lab/test_bare_parity.py
   explains (check_network_006).

Every check's verdict is compared with the one tests/lab/expected_verdicts.py holds for cfcr (which
tests/lab/test_verdicts.py asserts the `lab` backend gives). A difference inherent to judging the
provider's tenancy rather than the suite's would be listed in INHERENT with its reason and asserted to be
exactly that verdict; today there is none: every check the lab backend judges on cfcr is judged here too,
with the same verdict (the checks a provider's tenancy could not offer are n/a on the lab's cfcr already:
no dedicated cluster, no mixed tenancy, no identity broker). Prints the wall time of each step and the
verdict table.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import ConfigError
from harness.targets import load_targets
from harness.wait import wait_until
from provisioning.cluster_destinations import read_destinations
from provisioning.kube import client as kube
from provisioning.lab import cluster, configs, host, registry
from provisioning.lab.cluster import LabCluster, LabPaths
from provisioning.model.onboarding import COMPONENT, LABEL_PREFIX, abac_policy_lines, collection_path, tenant_manifests
from provisioning.model.tenancy import AuthorizationMode, Tenant
from tests.lab.bare_clusters import images_section, provision_stating, push_images
from tests.lab.existing_runs import Run, caas_run
from tests.lab.expected_verdicts import EXPECTED
from tests.lab.inventory import cluster_prefix
from tests.support import ROOT

pytestmark = [pytest.mark.lab, pytest.mark.nightly, pytest.mark.timeout(2400)]
EXAMPLE = ROOT / "targets.example.yaml"
PRODUCT = "bare-cfcr"
PROVIDER_LABEL = "cfcr.example/org"  # the provider's own label on what it made, instead of the suite's
READY_SECONDS = 300.0
# check -> (its verdict here, why it differs from the lab backend's cfcr verdict): none (see the docstring).
# check_provisioning_001 once was ("skipped", "no shared tenant on a cluster authorized by RBAC"): a skip of
# its RoleBinding step that hid its judged fences; that step now decides nothing on ABAC clusters instead.
INHERENT: dict[str, tuple[str, str]] = {}


def namespace_of(tenant: str) -> str:
    """The provider's name for a tenant's namespace (not the suite's `tenant-<name>`)."""
    return f"org-{tenant}-space"


def _example_cfcr() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The cfcr product of targets.example.yaml, its tenancy entries and its expectations."""
    example = yaml.safe_load(EXAMPLE.read_text())
    product = next(p for p in example["products"] if p["name"] == "cfcr")
    tenancy = [t for t in example["tenancy"] if t["product"] == "cfcr"]
    expectations = [e for e in example.get("expectations", []) if e["product"] == "cfcr"]
    return product, tenancy, expectations


def targets(directory: Path, kubeconfig: Path, served: registry.LabRegistry) -> Path:
    """bare-cfcr: the example's cfcr product (its plans: authorization abac), tenancy and expectations on
    the kubeconfig backend with `onboarding: existing`: the provider's namespaces, each identity's token as
    a context of `kubeconfig` (written by `onboard_as_the_provider`)."""
    product, tenancy, expectations = _example_cfcr()
    assert all(p.get("authorization") == "abac" for p in product["plans"]), "the example's cfcr authorizes by ABAC"
    assert not any(t.get("placement") == "dedicated" for e in tenancy for t in e["tenants"]), "one shared cluster"
    tenants = [{**t, "namespaces": [namespace_of(t["name"])]} for entry in tenancy for t in entry["tenants"]]
    identities = {
        identity.user: {"context": identity.user}
        for t in tenants
        for identity in Tenant(t["name"], t["plan"]).identities
    }
    bare = {k: v for k, v in product.items() if k not in ("name", "backend", "lab")}
    bare.update(
        name=PRODUCT,
        backend="kubeconfig",
        onboarding="existing",
        kubeconfig={"path": str(kubeconfig), "context": "admin", "identities": identities},
        images=images_section(served),
    )
    document = {
        "version": 1,
        "products": [bare],
        "tenancy": [{"product": PRODUCT, "tenants": tenants}],
        "expectations": [{**e, "product": PRODUCT} for e in expectations],
    }
    path = directory / "targets.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def provider_manifests(tenant: Tenant, manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reference onboarding's objects as the provider makes them: its own label instead of the suite's
    (run id, tenant, component); the pod-security labels stay, as the provider's fences."""
    made = []
    for manifest in manifests:
        labels = {
            k: v for k, v in manifest["metadata"].get("labels", {}).items() if not k.startswith(f"{LABEL_PREFIX}/")
        }
        assert COMPONENT not in labels
        made.append(
            {**manifest, "metadata": {**manifest["metadata"], "labels": {**labels, PROVIDER_LABEL: tenant.name}}}
        )
    return made


def onboard_as_the_provider(lab: LabCluster, targets_path: Path, kubeconfig: Path) -> dict[str, float]:
    """The provider's onboarding of the targets' tenants on `lab` (the module's step 2); writes the
    provider's kubeconfig to `kubeconfig`: the admin's context and one token context per tenant identity.
    Returns the seconds each part took."""
    model = load_targets(targets_path, check_files=False).model
    product = model.product(PRODUCT)
    tenants = model.tenants[PRODUCT]
    admin_path = lab.layout.kubeconfig(cluster.ADMIN)
    api = kube.from_kubeconfig(admin_path)
    timings: dict[str, float] = {}
    started = time.monotonic()
    try:
        destinations = read_destinations(api)
        for tenant in tenants:
            plan = product.plan(tenant.plan)
            made = tenant_manifests(tenant, plan, "provider", destinations=destinations)
            for manifest in provider_manifests(tenant, made):
                kube.request(api, "POST", collection_path(manifest), body=manifest)
            wait_until(
                lambda ns=tenant.namespace: kube.request(
                    api, "GET", f"/api/v1/namespaces/{ns}/serviceaccounts/default"
                ),
                lambda _sa: True,
                timeout=60,
                what=f"the default service account of {tenant.namespace}",
                retry_on=(kube.ApiFailure,),
            )
    finally:
        api.close()
    timings["namespaces and fences"] = time.monotonic() - started
    started = time.monotonic()
    identities = [i for t in tenants for i in t.identities]
    tokens = {i.user: secrets.token_urlsafe(24) for i in identities}
    tokens_file = lab.layout.directory / "tokens.csv"
    existing = tokens_file.read_text() if tokens_file.exists() else ""
    tokens_file.write_text(
        existing + "".join(f'{tokens[i.user]},{i.user},{i.user},"{",".join(i.groups)}"\n' for i in identities)
    )
    policy = lab.layout.directory / "abac-policy.jsonl"
    policy.write_text(
        policy.read_text() + configs.abac_policy([line for t in tenants for line in abac_policy_lines(t)])
    )
    lab.restart("kube-apiserver", READY_SECONDS)
    timings["tokens, ABAC lines and API server restart"] = time.monotonic() - started
    config = yaml.safe_load(admin_path.read_text())
    server = config["clusters"][0]["cluster"]
    users = [{"name": "admin", "user": config["users"][0]["user"]}]
    users += [{"name": user, "user": {"token": token}} for user, token in tokens.items()]
    provider = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cfcr", "cluster": server}],
        "users": users,
        "contexts": [{"name": u["name"], "context": {"cluster": "cfcr", "user": u["name"]}} for u in users],
        "current-context": "admin",
    }
    fd = os.open(kubeconfig, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(provider, out)
    return timings


@dataclass(frozen=True)
class CfcrRun:
    run: Run
    seconds: dict[str, float]
    kubeconfig: Path  # the provider's: its admin's context "admin"


@pytest.fixture(scope="module")
def cfcr_run(lab_paths: LabPaths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CfcrRun]:
    seconds: dict[str, float] = {}
    started = time.monotonic()
    served = registry.up(lab_paths.home)
    push_images(served)
    seconds["caas images push"] = time.monotonic() - started
    directory = tmp_path_factory.mktemp("parity-cfcr")
    kubeconfig = directory / "provider.kubeconfig"
    file = targets(directory, kubeconfig, served)
    name = f"{cluster_prefix()}parity-cfcr"
    if lab_paths.cluster_dir(name).exists():
        cluster.down(lab_paths, name)
    started = time.monotonic()
    lab = cluster.up(lab_paths, name, "cfcr", 1, READY_SECONDS, bare=True)
    try:
        seconds["bare cfcr cluster up"] = time.monotonic() - started
        seconds.update(onboard_as_the_provider(lab, file, kubeconfig))
        with host.outside_client() as inside:  # where a user's machine is: see tests/lab/test_bare_parity.py
            run = caas_run(
                file, directory / "out", f"{cluster_prefix()}parity-cfcr", 1800, product=PRODUCT, inside=tuple(inside)
            )
        seconds["caas run"] = run.seconds
        print("; ".join(f"{what}: {s:.0f}s" for what, s in seconds.items()))
        yield CfcrRun(run, seconds, kubeconfig)
    finally:
        cluster.down(lab_paths, name)


def test_a_provider_onboarded_bare_cfcr_cluster_gives_every_check_the_lab_backends_verdict(cfcr_run: CfcrRun) -> None:
    run = cfcr_run.run
    expected = {check: status for (check, profile), status in EXPECTED.items() if profile == "cfcr"}
    print("check | lab backend (cfcr) | bare-cfcr (kubeconfig, onboarding: existing)")
    for check in sorted(set(expected) | set(run.statuses)):
        mark = "" if expected.get(check) == run.statuses.get(check) else "  <- differs"
        print(f"{check} | {expected.get(check)} | {run.statuses.get(check)}{mark}")
    for check, (status, why) in INHERENT.items():
        assert run.statuses.get(check) == status, (
            f"{check}: {why}; expected {status}, got {run.statuses.get(check)}: {run.messages.get(check, '')[:600]}"
        )
    differing = {
        c: (expected[c], run.statuses.get(c), run.messages.get(c, "")[:400])
        for c in expected
        if c not in INHERENT and run.statuses.get(c) != expected[c]
    }
    assert not differing, (
        f"check: (lab backend's cfcr verdict, bare-cfcr's, message): {differing}\n{run.output[-3000:]}"
    )
    unlisted = sorted(set(run.statuses) - set(expected))
    print(f"checks tests/lab/expected_verdicts.py does not hold for cfcr (compared by the exit code only): {unlisted}")
    # an ERROR or a failure the example does not expect is exit code != 0; an inherent difference may be one
    unexpected = {c for c, (s, _why) in INHERENT.items() if s in ("fail", "error")}
    assert run.code == 0 or unexpected, f"every verdict is the example's expectation or a pass\n{run.output[-3000:]}"


def test_the_cfcr_cluster_refutes_a_plan_stating_rbac_and_takes_one_stating_abac(cfcr_run: CfcrRun) -> None:
    """The kubeconfig backend's one SubjectAccessReview on the real ABAC API server: stated rbac is one line
    naming the plan's field (its tenants' RoleBindings would grant nothing), stated abac is the handle's mode."""
    with pytest.raises(ConfigError) as refuted:
        provision_stating(cfcr_run.kubeconfig, "admin", AuthorizationMode.RBAC)
    assert refuted.value.path == "products[0].plans[0].authorization"
    assert "No policy matched" in refuted.value.message
    assert "\n" not in str(refuted.value)
    assert (
        provision_stating(cfcr_run.kubeconfig, "admin", AuthorizationMode.ABAC).authorization is AuthorizationMode.ABAC
    )
