"""The provider's own onboarding, judged as it is (`onboarding: existing`).

A bare pks lab cluster (no suite image on its nodes, no suite identity), reached only through the kubeconfig
backend, its nodes pulling the suite's images from the lab registry. Before the run a script plays the
provider "acme": its own namespace names and labels, its own NetworkPolicies (isolation written as separate
ingress and egress policies, DNS by its endpoints), quota, limits and RoleBindings that bind its users (not
groups, unlike the suite's onboarding), and credentials it issues to each tenant identity (client
certificates in acme's own group). One fence is left out on purpose: tenant green has no policy that isolates
its pods' egress.

Judged with `onboarding: existing`: exactly the checks that depend on the missing fence fail, the others
pass (or are n/a), none errors; nothing the provider made is created, changed or deleted by the run, and
nothing of the run is left in the tenants' namespaces.

CI runs a slice (a check that needs the missing fence, one of pod security, one of quota and limits);
the whole catalogue is nightly.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioning.cluster_destinations import read_destinations
from provisioning.kube import client as kube
from provisioning.kube import csr
from provisioning.lab import cluster, registry
from provisioning.lab.cluster import LabCluster, LabPaths
from provisioning.model.onboarding import RUN_ID
from tests.lab.existing_runs import PRODUCT_FAILS, Run, caas_run
from tests.lab.inventory import cluster_prefix, suite_run_id
from tests.support import run_caas

pytestmark = [pytest.mark.lab, pytest.mark.timeout(3600)]
PRODUCT = "acme"
NAMESPACES = {"blue": "acme-blue-prod", "green": "acme-green-prod"}
ROLES = {"admin": "admin", "developer": "edit", "viewer": "view"}  # the tenant role -> acme's ClusterRole
PLANS = """\
      - name: small
        pod_security: restricted
        quota:
          hard: {pods: "10", requests.cpu: "1", requests.memory: 2Gi}
          default_requests: {cpu: 50m, memory: 64Mi}
          default_limits: {cpu: 250m, memory: 128Mi}
      - name: medium
        pod_security: baseline
"""
# The checks whose verdict rests on green's egress being isolated, which acme left out: each sends from
# green's pods and expects the source's own fence to stop what the destination admits. (Green's *ingress*
# fence left out instead fails no check: every other tenant's egress fence stops their pods before they
# reach green's, and no check sends from a pod whose egress is open.)
MISSING_FENCE_FAILS = {
    "check_network_001": "green's pods reach blue's pods (on the ports blue admits, DNS's among them)",
    "check_network_003": "green's pods reach blue/b beyond the one flow the tenants opened",
    "check_network_007": "green's pods reach the nodes' kubelets",
    "check_network_008": "green's pods reach blue's pods on the DNS ports",
    # judges the fences themselves: green's declared plan (medium) keeps its pods from the API server and
    # every tenant is expected isolated both ways; blue's fences keep plan small and isolate it
    "check_provisioning_001": "no NetworkPolicy selecting every pod of acme-green-prod isolates egress",
}
# What the model says of acme beyond the missing egress fence: acme binds its tenants' users to Kubernetes'
# admin and edit ClusterRoles, which may patch and delete RoleBindings and NetworkPolicies in their own
# namespace, and guards its objects with no admission policy; so check_rbac_004's level 1 fails on acme's
# own objects (by their names, read from its fences: nothing answers 404), while its quota and limit range
# (read-only to admin and edit) stay out of reach and level 2 (an admin delegating to its developers, as
# their credentials authenticate) passes.
PROVIDER_LEAVES_IN_REACH = {
    "check_rbac_004": ("acme-admin-blue", "acme-ingress-guard"),
}
# Checks that cannot judge a provider's tenancy yet, for reasons outside onboarding: existing's modules
# (hooks for their owners); asserted to be what they are today, so that the day they judge it shows here.
NOT_YET_JUDGED = {
    "check_network_006": (
        "error",
        "a kubeconfig-only run's outside client is this host, which lab node ports do not answer",
    ),
}
# CI: the missing fence's check, pod security (restricted blue, baseline green) and quota/limits
SLICE = ("check_network_007", "check_privileged_001", "check_privileged_005")


def _meta(name: str, namespace: str, tenant: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": {"acme.example/customer": tenant}}


def provider_objects(tenant: str, level: str, dns_rules: list[dict[str, Any]], isolate_egress: bool) -> list[Any]:
    """What acme's onboarding makes for `tenant`: its namespace (acme's labels, the pod-security level),
    ingress isolation with a same-namespace exception, egress isolation with same-namespace and DNS
    exceptions (unless left out), a quota and container defaults for the small plan, and one RoleBinding
    per role binding acme's *user*."""
    ns = NAMESPACES[tenant]
    objects: list[Any] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": ns,
                "labels": {
                    "acme.example/customer": tenant,
                    "acme.example/environment": "prod",
                    "pod-security.kubernetes.io/enforce": level,
                },
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta("acme-ingress-guard", ns, tenant),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]},
        },
    ]
    if isolate_egress:
        objects.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _meta("acme-egress-guard", ns, tenant),
                "spec": {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [{"to": [{"podSelector": {}}]}, *dns_rules],
                },
            }
        )
    if tenant == "blue":  # the small plan's quota and defaults
        objects += [
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": _meta("acme-budget", ns, tenant),
                "spec": {"hard": {"pods": "10", "requests.cpu": "1", "requests.memory": "2Gi"}},
            },
            {
                "apiVersion": "v1",
                "kind": "LimitRange",
                "metadata": _meta("acme-container-defaults", ns, tenant),
                "spec": {
                    "limits": [
                        {
                            "type": "Container",
                            "default": {"cpu": "250m", "memory": "128Mi"},
                            "defaultRequest": {"cpu": "50m", "memory": "64Mi"},
                        }
                    ]
                },
            },
        ]
    for role, cluster_role in ROLES.items():
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": _meta(f"acme-{cluster_role}-{tenant}", ns, tenant),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": f"{tenant}-{role}"}],
            }
        )
    return objects


def _path(manifest: dict[str, Any]) -> str:
    version, kind = manifest["apiVersion"], manifest["kind"]
    base = f"/api/{version}" if "/" not in version else f"/apis/{version}"
    plural = {"NetworkPolicy": "networkpolicies"}.get(kind, kind.lower() + "s")
    namespace = manifest["metadata"].get("namespace")
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


def onboard_as_the_provider(lab: LabCluster, directory: Path) -> Path:
    """acme onboards blue (small) and green (medium, no egress isolation) on `lab` and hands out a
    kubeconfig: its admin's context and one context per tenant identity (a certificate acme had the cluster
    sign, in acme's own group). Returns the kubeconfig's path."""
    admin_path = lab.layout.kubeconfig(cluster.ADMIN)
    api = kube.from_kubeconfig(admin_path)
    config = yaml.safe_load(admin_path.read_text())
    try:
        dns_rules = read_destinations(api).dns.egress_rules()
        assert dns_rules, "the lab's cluster DNS endpoints are known"
        for tenant, level, isolate in (
            ("blue", "restricted", True),
            ("green", "baseline", False),
        ):  # green: no egress guard
            for manifest in provider_objects(tenant, level, dns_rules, isolate):
                kube.request(api, "POST", _path(manifest), body=manifest)
            for role in ROLES:
                user = f"{tenant}-{role}"
                issued = csr.mint(api, user, (f"acme:customers:{tenant}",))
                config["users"].append(
                    {
                        "name": user,
                        "user": {
                            "client-certificate-data": base64.b64encode(issued.cert_pem).decode(),
                            "client-key-data": base64.b64encode(issued.key_pem).decode(),
                        },
                    }
                )
                cluster_name = config["contexts"][0]["context"]["cluster"]
                config["contexts"].append({"name": user, "context": {"cluster": cluster_name, "user": user}})
    finally:
        api.close()
    path = directory / "acme.kubeconfig"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(config, out)
    return path


def targets(directory: Path, kubeconfig: Path, login_file: Path, ca_file: Path) -> Path:
    identities = ", ".join(f"{t}-{r}: {{context: {t}-{r}}}" for t in NAMESPACES for r in ROLES)
    images = f'{{registry: "{registry.LOCATION}", pull_secret: {{file: {login_file}}}, ca_file: {ca_file}}}'
    path = directory / "targets.yaml"
    path.write_text(
        "version: 1\n"
        "products:\n"
        f"  - name: {PRODUCT}\n"
        "    backend: kubeconfig\n"
        "    onboarding: existing\n"
        f"    kubeconfig: {{path: {kubeconfig}, identities: {{{identities}}}}}\n"
        f"    images: {images}\n"
        f"    plans:\n{PLANS}"
        "tenancy:\n"
        f"  - product: {PRODUCT}\n"
        "    tenants:\n"
        f"      - {{name: blue, plan: small, namespaces: [{NAMESPACES['blue']}]}}\n"
        f"      - {{name: green, plan: medium, namespaces: [{NAMESPACES['green']}]}}\n"
    )
    return path


def provider_state(lab: LabCluster) -> dict[str, Any]:
    """Every object in the tenants' namespaces (kind/name -> resourceVersion) and the namespaces' labels."""
    api = kube.from_kubeconfig(lab.layout.kubeconfig(cluster.ADMIN))
    state: dict[str, Any] = {}
    try:
        for namespace in NAMESPACES.values():
            ns = kube.request(api, "GET", f"/api/v1/namespaces/{namespace}")["metadata"]
            state[f"{namespace}/labels"] = ns.get("labels")
            for collection in (
                "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
                "/api/v1/namespaces/{ns}/resourcequotas",
                "/api/v1/namespaces/{ns}/limitranges",
                "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
            ):
                for item in kube.request(api, "GET", collection.format(ns=namespace))["items"]:
                    meta = item["metadata"]
                    state[f"{namespace}/{collection.rsplit('/', 1)[1]}/{meta['name']}"] = item.get("spec") or {
                        "roleRef": item.get("roleRef"),
                        "subjects": item.get("subjects"),
                    }
    finally:
        api.close()
    return state


def leftovers(lab: LabCluster, run_id: str) -> list[str]:
    """Objects labelled with the run's id still in the tenants' namespaces (pods, Services, Secrets, ...)."""
    api = kube.from_kubeconfig(lab.layout.kubeconfig(cluster.ADMIN))
    left = []
    try:
        for namespace in NAMESPACES.values():
            for collection in ("pods", "services", "secrets", "configmaps", "persistentvolumeclaims"):
                listed = kube.request(
                    api,
                    "GET",
                    f"/api/v1/namespaces/{namespace}/{collection}",
                    query={"labelSelector": f"{RUN_ID}={run_id}"},
                )
                left += [f"{namespace}/{collection}/{i['metadata']['name']}" for i in listed["items"]]
            listed = kube.request(
                api,
                "GET",
                f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies",
                query={"labelSelector": f"{RUN_ID}={run_id}"},
            )
            left += [f"{namespace}/networkpolicies/{i['metadata']['name']}" for i in listed["items"]]
    finally:
        api.close()
    return left


@dataclass(frozen=True)
class Judged:
    run: Run
    before: dict[str, Any]
    after: dict[str, Any]
    left: list[str]


def _judge(lab_paths: LabPaths, directory: Path, checks: tuple[str, ...], name: str) -> Iterator[Judged]:
    served = registry.up(lab_paths.home)
    login = ("--authfile", str(served.login_file), "--ca-file", str(served.ca_file))
    pushed = run_caas("images", "push", "--registry", registry.LOCATION, *login, timeout=600)
    assert pushed.returncode == 0, pushed.stderr
    full = f"{cluster_prefix()}{name}"
    if lab_paths.cluster_dir(full).exists():
        cluster.down(lab_paths, full)
    lab = cluster.up(lab_paths, full, "pks", 1, 300, bare=True)
    try:
        kubeconfig = onboard_as_the_provider(lab, directory)
        file = targets(directory, kubeconfig, served.login_file, served.ca_file)
        before = provider_state(lab)
        run_id = suite_run_id(f"{name}-run")
        run = caas_run(file, directory / "out", run_id, 3000, checks, PRODUCT)
        print(f"onboarding: existing on a bare pks cluster, {len(run.statuses)} checks: {run.seconds:.0f}s")
        print(json.dumps(run.statuses, indent=1, sort_keys=True))
        yield Judged(run, before, provider_state(lab), leftovers(lab, run_id))
    finally:
        cluster.down(lab_paths, full)


@pytest.fixture(scope="module")
def judged_slice(lab_paths: LabPaths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Judged]:
    yield from _judge(lab_paths, tmp_path_factory.mktemp("existing"), SLICE, "existing-slice")


@pytest.fixture(scope="module")
def judged_all(lab_paths: LabPaths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Judged]:
    yield from _judge(lab_paths, tmp_path_factory.mktemp("existing-all"), (), "existing-all")


def _verdicts(judged: Judged) -> None:
    statuses = dict(judged.run.statuses)
    for check, (status, why) in NOT_YET_JUDGED.items():
        if check in statuses:
            assert statuses.pop(check) == status, f"{check} changed: it {why}; judge it with the others now"
    for check, names in PROVIDER_LEAVES_IN_REACH.items():
        if check in statuses:
            message = judged.run.messages.get(check, "")
            assert statuses.pop(check) == "fail", f"{check}: acme's objects are in its tenants' reach"
            assert all(n in message for n in names), f"{check} names acme's objects {names}: {message[:2000]}"
            assert "404" not in message, f"{check} changes objects that exist: {message[:2000]}"
            assert "delegated role" not in message, f"{check} level 2 (delegation) passes: {message[:2000]}"
    for check, why in PRODUCT_FAILS.items():
        if check in statuses:
            assert statuses.pop(check) == "fail", f"{check}: {why}: {judged.run.messages.get(check, '')[:400]}"
    errors = {c: judged.run.messages.get(c, "")[:400] for c, s in statuses.items() if s in ("error", "unknown")}
    assert not errors, f"no check errors: {errors}\n{judged.run.output[-2000:]}"
    failed = {c for c, s in statuses.items() if s == "fail"}
    expected = {c for c in MISSING_FENCE_FAILS if c in statuses}
    assert failed == expected, {c: judged.run.messages.get(c, "")[:400] for c in failed ^ expected}
    assert all(s in ("pass", "skipped") for c, s in statuses.items() if c not in expected), statuses
    assert judged.before == judged.after, "the run changed none of the provider's objects"
    assert not judged.left, f"the run's objects are removed: {judged.left}"


def test_a_slice_fails_exactly_where_the_providers_fence_is_missing(judged_slice: Judged) -> None:
    assert set(judged_slice.run.statuses) == set(SLICE)
    _verdicts(judged_slice)


@pytest.mark.nightly
def test_every_check_fails_exactly_where_the_providers_fence_is_missing(judged_all: Judged) -> None:
    _verdicts(judged_all)
