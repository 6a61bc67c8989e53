"""Generated NetworkPolicy sets on a `pks` lab cluster: for each example the evaluator's expected
matrix must equal what the probes observe. A failing example is shrunk and saved under
`regressions/network_policies/` (commit it); saved cases are replayed first, every run.
The number of generated examples is the setting CAAS_HYPOTHESIS_EXAMPLES (small in CI)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings

from checks.matrix import Cell, Matrix
from checks.network.expectations import Pair
from checks.network.generated import (
    CLUSTER,
    GeneratedPolicy,
    load_regressions,
    policy_sets,
    resolve,
    save_regression,
)
from checks.network.policies_in_force import expected_by_policies, read_endpoints, read_policies
from checks.network.probe import ProbePod, Prober, deploy_probe_pods, pod_targets, port_names
from checks.network.reachability import observe_until_converged
from harness.backends import backend_for
from harness.settings import Timeouts, build_settings
from harness.wait import wait_until
from provisioning.kube import client as kube
from provisioning.lab import cluster
from provisioning.lab.cluster import LabCluster
from provisioning.model.onboarding import TENANT
from provisioning.tenancy import ProvisionedTenancy, Provisioner
from tests.lab.conftest import existing_cluster_targets

pytestmark = pytest.mark.lab
TENANTS = ("gblue", "ggreen")
APPS = ("a", "b")
REGRESSIONS = Path(__file__).parent / "regressions" / "network_policies"
EXAMPLES = int(os.environ.get("CAAS_HYPOTHESIS_EXAMPLES", "6"))


@pytest.fixture(scope="module")
def tenancy(
    lab_clusters: dict[str, LabCluster], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProvisionedTenancy]:
    """Two tenants onboarded on the pks lab cluster (default-deny, allow-same-tenant, allow-DNS)."""
    admin = lab_clusters["pks"].layout.kubeconfig(cluster.ADMIN)
    targets = existing_cluster_targets(tmp_path_factory.mktemp("generated"), admin, TENANTS)
    run_settings = build_settings(targets_path=targets, environment={}, run_id="generated")
    provisioner = Provisioner(backend_for(run_settings, "existing"), run_settings.run_id)
    yield provisioner.provision(run_settings.targets.model, "existing")
    provisioner.release()


def _apply(tenancy: ProvisionedTenancy, policies: list[GeneratedPolicy], cidr: str, ips: dict[str, str]) -> None:
    api = tenancy.admin_client(tenancy.clusters[0])
    try:
        for policy in policies:
            manifest = resolve(policy, cidr, ips)
            namespace = tenancy.tenant(policy["tenant"]).namespace
            kube.call(api, "NetworkingV1Api", "create_namespaced_network_policy", namespace, manifest)
    finally:
        api.close()


def _remove(tenancy: ProvisionedTenancy, policies: list[GeneratedPolicy]) -> None:
    api = tenancy.admin_client(tenancy.clusters[0])
    try:
        for policy in policies:
            namespace = tenancy.tenant(policy["tenant"]).namespace
            try:
                kube.call(api, "NetworkingV1Api", "delete_namespaced_network_policy", policy["name"], namespace)
            except kube.ApiFailure as exc:
                if exc.status != 404:
                    raise
    finally:
        api.close()


@pytest.fixture(scope="module")
def pods(tenancy: ProvisionedTenancy) -> list[ProbePod]:
    return deploy_probe_pods(tenancy, Timeouts().pod_ready)


def test_generated_policies_are_enforced_exactly_as_the_evaluator_says(
    tenancy: ProvisionedTenancy, lab_clusters: dict[str, LabCluster], pods: list[ProbePod]
) -> None:
    timeouts = Timeouts()
    ips = {p.label: p.ip for p in pods}
    cidr = lab_clusters["pks"].layout.cluster_cidr
    targets = [(pod, t) for pod in pods for t in pod_targets([pod])]
    pairs: list[Pair] = [(s, o, t) for s in pods for o, t in targets if s != o]
    columns = [t.column for _, t in targets]
    prober = Prober(tenancy, timeouts.probe)
    wanted = {(s.label, t.column) for s, _, t in pairs}

    def observe() -> Any:
        observation = prober.observe(pods, [t for _, t in targets], skip=lambda s, t: (s.label, t.column) not in wanted)
        return observation.matrix, observation.probes

    def check(policies: list[GeneratedPolicy]) -> None:
        _apply(tenancy, policies, cidr, ips)
        try:
            in_force, namespace_labels = read_policies(tenancy, tenancy.clusters[0])
            endpoints = read_endpoints(tenancy, tenancy.clusters[0])
            expected = expected_by_policies(pods, columns, pairs, in_force, namespace_labels, endpoints)
            verdict = observe_until_converged(expected, observe, attempts=5, within=25)
        finally:
            _remove(tenancy, policies)
        if not verdict.comparison.passed:
            saved = save_regression(REGRESSIONS, policies)
            raise AssertionError(f"saved as {saved.name}\n{verdict.report()}")

    cases = given(policy_sets(TENANTS, APPS))(check)
    for case in load_regressions(REGRESSIONS):
        cases = example(case)(cases)
    settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )(cases)()


MERGED_IPBLOCKS: list[GeneratedPolicy] = [
    {
        "tenant": "gblue",
        "name": "merged-ipblocks",
        "spec": {
            "podSelector": {"matchLabels": {"app": "b"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"ipBlock": {"cidr": CLUSTER, "except": ["POD:ggreen/b"]}},
                        {"ipBlock": {"cidr": CLUSTER, "except": ["POD:gblue/a"]}},
                    ]
                }
            ],
        },
    },
    {
        "tenant": "ggreen",
        "name": "egress-to-gblue",
        "spec": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": {"matchLabels": {TENANT: "gblue"}}}]}],
        },
    },
]


def test_the_lab_enforcer_still_refuses_an_address_one_ipblock_peer_excepts_and_another_allows(
    tenancy: ProvisionedTenancy, lab_clusters: dict[str, LabCluster], pods: list[ProbePod]
) -> None:
    """A known deviation of the lab's enforcer from the NetworkPolicy spec, kept under observation.

    ggreen/b is excepted by the first peer but inside the second, and peers are OR'd: the spec and
    our evaluator allow it. kube-router 2.1.0 puts both peers into one ipset with the excepts as
    `nomatch` entries and refuses it, so `policy_sets` leaves that shape out. When this test fails,
    the enforcer follows the spec: lift `shadows_an_except` from the generator and delete this test."""
    owner = next(p for p in pods if p.label == "gblue/b")
    target = next(t for t in pod_targets([owner], ("tcp",)) if t.port == 8080)
    sources = [p for p in pods if p.label in ("ggreen/a", "ggreen/b")]
    prober = Prober(tenancy, Timeouts().probe)
    pairs: list[Pair] = [(s, owner, target) for s in sources]

    def observe() -> Matrix:
        return prober.observe(sources, [target]).matrix

    _apply(tenancy, MERGED_IPBLOCKS, lab_clusters["pks"].layout.cluster_cidr, {p.label: p.ip for p in pods})
    try:
        in_force, namespace_labels = read_policies(tenancy, tenancy.clusters[0])
        endpoints = read_endpoints(tenancy, tenancy.clusters[0])
        expected = expected_by_policies(sources, [target.column], pairs, in_force, namespace_labels, endpoints)
        # ggreen/a is refused by the tenants' default-deny until the policy is enforced: the control.
        observed = wait_until(
            observe,
            lambda m: m["ggreen/a", target.column] is Cell.ALLOWED,
            timeout=30,
            what=f"ggreen/a -> {target.column} allowed by {MERGED_IPBLOCKS[0]['name']} (the policy enforced)",
        )
    finally:
        _remove(tenancy, MERGED_IPBLOCKS)
    assert expected["ggreen/a", target.column] is Cell.ALLOWED
    assert expected["ggreen/b", target.column] is Cell.ALLOWED, "the evaluator follows the spec: peers are OR'd"
    assert observed["ggreen/b", target.column] is Cell.DENIED, (
        f"ggreen/b -> {target.column} is {observed['ggreen/b', target.column]} "
        f"({observed.evidence.get(('ggreen/b', target.column), '')}): the enforcer no longer merges ipBlock peers"
    )


NAMED_PORT_ANYWHERE: list[GeneratedPolicy] = [
    {
        "tenant": "ggreen",
        "name": "egress-named-port-anywhere",
        "spec": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"ports": [{"protocol": "TCP", "port": "alt"}]}],
        },
    },
    {
        "tenant": "gblue",
        "name": "ingress-from-anyone",
        "spec": {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Ingress"], "ingress": [{}]},
    },
]


def test_the_lab_enforcer_still_resolves_an_egress_named_port_without_destinations_in_its_own_namespace(
    tenancy: ProvisionedTenancy, lab_clusters: dict[str, LabCluster], pods: list[ProbePod]
) -> None:
    """A known deviation of the lab's enforcer from the NetworkPolicy spec, kept under observation.

    ggreen's egress rule allows port "alt" to any destination: per the API reference, the port the
    destination pod names "alt". gblue/a's "alt" is one number and its "http" the other; kube-router
    2.1.0 (cloudnativelabs/kube-router#1037) resolves "alt" among ggreen's own pods, whose apps swap
    the names (checks.network.probe.port_names), and allows both numbers to every destination, so
    ggreen reaches gblue/a's "http" port too. `policy_sets` leaves that shape out
    (`names_a_port_of_any_destination`). When this test fails, the enforcer follows the spec: lift the
    filter from the generator and delete this test."""
    owner = next(p for p in pods if p.label == "gblue/a")
    names = port_names("gblue", "a")
    alt = next(port for port, name in names.items() if name == "alt")
    http = next(port for port, name in names.items() if name == "http")
    by_port = {t.port: t for t in pod_targets([owner], ("tcp",))}
    control, deviation = by_port[alt], by_port[http]
    sources = [p for p in pods if p.label in ("ggreen/a", "ggreen/b")]
    prober = Prober(tenancy, Timeouts().probe)
    pairs: list[Pair] = [(s, owner, t) for s in sources for t in (control, deviation)]

    def observe() -> Matrix:
        return prober.observe(sources, [control, deviation]).matrix

    _apply(tenancy, NAMED_PORT_ANYWHERE, lab_clusters["pks"].layout.cluster_cidr, {p.label: p.ip for p in pods})
    try:
        in_force, namespace_labels = read_policies(tenancy, tenancy.clusters[0])
        endpoints = read_endpoints(tenancy, tenancy.clusters[0])
        columns = [control.column, deviation.column]
        expected = expected_by_policies(sources, columns, pairs, in_force, namespace_labels, endpoints)
        # gblue/a's "alt" port is refused by the tenants' default-deny until both policies are enforced.
        observed = wait_until(
            observe,
            lambda m: all(m[s.label, control.column] is Cell.ALLOWED for s in sources),
            timeout=30,
            what=f"ggreen -> {control.column} allowed by {NAMED_PORT_ANYWHERE[0]['name']} (the policies enforced)",
        )
    finally:
        _remove(tenancy, NAMED_PORT_ANYWHERE)
    for source in sources:
        assert expected[source.label, control.column] is Cell.ALLOWED
        assert expected[source.label, deviation.column] is Cell.DENIED, "the evaluator follows the spec"
        assert observed[source.label, deviation.column] is Cell.ALLOWED, (
            f"{source.label} -> {deviation.column} is {observed[source.label, deviation.column]} "
            f"({observed.evidence.get((source.label, deviation.column), '')}): the enforcer now resolves the "
            "named port on the destination"
        )


def test_a_policy_set_round_trips_through_its_symbolic_form() -> None:
    policy: GeneratedPolicy = {
        "tenant": "gblue",
        "name": "generated-0",
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "CLUSTER", "except": ["POD:ggreen/a"]}}]}],
        },
    }
    manifest = resolve(policy, "10.101.0.0/16", {"ggreen/a": "10.101.1.7"})
    assert manifest["spec"]["ingress"][0]["from"][0]["ipBlock"] == {
        "cidr": "10.101.0.0/16",
        "except": ["10.101.1.7/32"],
    }
    assert policy["spec"]["ingress"][0]["from"][0]["ipBlock"]["cidr"] == "CLUSTER", "the symbolic form is untouched"
