"""The pure NetworkPolicy evaluator: known cases and properties."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from checks.matrix import Cell, Matrix
from checks.network.dns import as_resolution
from checks.network.expectations import same_tenant
from checks.network.generated import policy_sets, resolve
from checks.network.policies_in_force import endpoint_of, expected_by_policies
from checks.network.policy import Endpoint, Port, allowed, selector_matches
from checks.network.probe import ProbePod, Target, port_names, probe_pod_manifest
from provisioning.model.onboarding import TENANT

NS_LABELS = {"blue": {"tenant": "blue"}, "green": {"tenant": "green"}}
A = Endpoint("blue/a", "10.1.0.1", "blue", {"app": "a"}, (Port(8080, "TCP", "http"), Port(8082, "UDP")))
B = Endpoint("blue/b", "10.1.0.2", "blue", {"app": "b"}, (Port(8080, "TCP", "http"), Port(8081)))
G = Endpoint("green/a", "10.2.0.1", "green", {"app": "a"}, (Port(8080, "TCP", "http"),))
OUTSIDE = Endpoint("outside", "192.0.2.10")
HTTP = Port(8080)


def policy(namespace: str, spec: dict[str, Any], name: str = "p") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


DENY_ALL = policy("blue", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
SAME_TENANT = policy(
    "blue",
    {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"podSelector": {}}]}],
        "egress": [{"to": [{"podSelector": {}}]}],
    },
)


def test_no_policy_allows_everything() -> None:
    assert allowed([], A, G, HTTP, NS_LABELS)
    assert allowed([], OUTSIDE, A, HTTP, NS_LABELS)


def test_deny_all_blocks_both_directions() -> None:
    assert not allowed([DENY_ALL], A, B, HTTP, NS_LABELS)
    assert not allowed([DENY_ALL], G, A, HTTP, NS_LABELS)
    assert not allowed([DENY_ALL], A, G, HTTP, NS_LABELS)
    assert allowed([DENY_ALL], G, G, HTTP, NS_LABELS), "green is not selected by blue's policy"


def test_same_tenant_allows_inside_only() -> None:
    policies = [DENY_ALL, SAME_TENANT]
    assert allowed(policies, A, B, HTTP, NS_LABELS)
    assert not allowed(policies, G, A, HTTP, NS_LABELS)
    assert not allowed(policies, A, G, HTTP, NS_LABELS)


def test_namespace_selector_with_pod_selector() -> None:
    open_to_green_a = policy(
        "blue",
        {
            "podSelector": {"matchLabels": {"app": "b"}},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"tenant": "green"}},
                            "podSelector": {"matchLabels": {"app": "a"}},
                        }
                    ]
                }
            ],
        },
    )
    assert allowed([open_to_green_a], G, B, HTTP, NS_LABELS)
    assert not allowed([open_to_green_a], A, B, HTTP, NS_LABELS), "blue/a is not in a green namespace"
    assert allowed([open_to_green_a], G, A, HTTP, NS_LABELS), "blue/a is not selected"


def test_named_port_resolves_on_the_destination() -> None:
    only_http = policy("blue", {"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]})
    assert allowed([only_http], G, B, Port(8080), NS_LABELS)
    assert not allowed([only_http], G, B, Port(8081), NS_LABELS)


def test_end_port_range_and_protocol() -> None:
    ranged = policy("blue", {"podSelector": {}, "ingress": [{"ports": [{"port": 8081, "endPort": 8090}]}]})
    assert allowed([ranged], G, B, Port(8081), NS_LABELS)
    assert not allowed([ranged], G, B, Port(8080), NS_LABELS)
    assert not allowed([ranged], G, A, Port(8082, "UDP"), NS_LABELS), "the rule is TCP by default"


def test_ip_block_with_except() -> None:
    block = policy(
        "blue",
        {
            "podSelector": {},
            "ingress": [{"from": [{"ipBlock": {"cidr": "192.0.2.0/24", "except": ["192.0.2.128/25"]}}]}],
        },
    )
    assert allowed([block], OUTSIDE, A, HTTP, NS_LABELS)
    assert not allowed([block], Endpoint("far", "192.0.2.200"), A, HTTP, NS_LABELS)
    assert not allowed([block], G, A, HTTP, NS_LABELS)


def test_egress_policy_type_inferred_from_rules() -> None:
    egress_only_dns = policy("blue", {"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]})
    assert not allowed([egress_only_dns], A, G, HTTP, NS_LABELS)
    assert not allowed([egress_only_dns], G, A, HTTP, NS_LABELS), "without policyTypes, Ingress is always isolated"
    explicit = policy("blue", {**egress_only_dns["spec"], "policyTypes": ["Egress"]})
    assert allowed([explicit], G, A, HTTP, NS_LABELS)


def test_match_expressions() -> None:
    selector = {
        "matchExpressions": [
            {"key": "app", "operator": "In", "values": ["a", "c"]},
            {"key": "tier", "operator": "DoesNotExist"},
        ]
    }
    assert selector_matches(selector, {"app": "a"})
    assert not selector_matches(selector, {"app": "b"})
    assert not selector_matches(selector, {"app": "a", "tier": "db"})
    assert selector_matches({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["b"]}]}, {})


labels = st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["a", "b", "c"]), max_size=2)
selectors = st.one_of(st.just({}), st.builds(lambda m: {"matchLabels": m}, labels))
peers = st.one_of(
    st.builds(lambda s: {"podSelector": s}, selectors),
    st.builds(lambda s: {"namespaceSelector": {"matchLabels": {"tenant": s}}}, st.sampled_from(["blue", "green"])),
    st.just({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.2.0.0/16"]}}),
)
ports = st.lists(
    st.one_of(st.just({"port": "http"}), st.builds(lambda p: {"port": p}, st.sampled_from([8080, 8081]))), max_size=2
)
rules = st.lists(st.builds(lambda f, p: {"from": f, "ports": p}, st.lists(peers, max_size=2), ports), max_size=2)
policies = st.lists(
    st.builds(
        lambda ns, sel, r: policy(ns, {"podSelector": sel, "policyTypes": ["Ingress"], "ingress": r}),
        st.sampled_from(["blue", "green"]),
        selectors,
        rules,
    ),
    max_size=3,
)
endpoints = st.sampled_from([A, B, G, OUTSIDE])
pod_endpoints = st.sampled_from([A, B, G])


@given(policies, endpoints, pod_endpoints, st.sampled_from([Port(8080), Port(8081)]))
def test_adding_a_policy_never_opens_a_path_the_policies_closed(
    existing: list[dict[str, Any]], source: Endpoint, destination: Endpoint, port: Port
) -> None:
    before = allowed(existing, source, destination, port, NS_LABELS)
    after = allowed([*existing, DENY_ALL], source, destination, port, NS_LABELS)
    assert not (after and not before)


@given(policies, endpoints, pod_endpoints, st.sampled_from([Port(8080), Port(8081)]))
def test_a_policy_allows_at_least_what_its_peer_rule_names(
    existing: list[dict[str, Any]], source: Endpoint, destination: Endpoint, port: Port
) -> None:
    # An allow-everything ingress rule on the destination's namespace opens every path into it
    # unless the source's own egress is isolated (ingress-only policies here, so never).
    open_all = policy(destination.namespace, {"podSelector": {}, "ingress": [{}]}, name="open")
    assert allowed([*existing, open_all], source, destination, port, NS_LABELS)


# Issue 20: the product's reading of ipBlock, the pods' real labels and their own port maps.

IP_BLOCK_CLUSTER = policy(
    "blue",
    {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]},
)


def test_ipblock_matches_pod_addresses_where_the_dataplane_reads_it_so() -> None:
    """kube-router, Calico, NSX-T: an ipBlock over the pod network admits pods; the default reading."""
    assert allowed([IP_BLOCK_CLUSTER], G, A, HTTP, NS_LABELS)
    assert allowed([IP_BLOCK_CLUSTER], G, A, HTTP, NS_LABELS, ip_block_matches_pods=True)


def test_ipblock_never_matches_pod_addresses_on_a_dataplane_like_cilium() -> None:
    assert not allowed([IP_BLOCK_CLUSTER], G, A, HTTP, NS_LABELS, ip_block_matches_pods=False)
    inside = Endpoint("node", "10.9.0.1")  # an address of no pod stays matched under both readings
    assert allowed([IP_BLOCK_CLUSTER], inside, A, HTTP, NS_LABELS, ip_block_matches_pods=False)


def _pod(name: str, ip: str, labels: dict[str, str], ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "blue", "labels": labels},
        "spec": {"containers": [{"name": "probe", "ports": ports}]},
        "status": {"podIP": ip},
    }


def test_a_policy_on_a_label_beyond_app_is_judged_on_the_pods_real_labels() -> None:
    """The issue's failing input: endpoints built from fixed labels (app, probe) never carry `tier`."""

    web = endpoint_of(_pod("probe-a", "10.1.0.1", {"app": "a", "tier": "web"}, [{"containerPort": 8080}]))
    assert web.labels == {"app": "a", "tier": "web"}
    assert web.ports == (Port(8080, "TCP", ""),)
    source, owner = (
        ProbePod("green", "c", "green", "probe-a", "a", "10.2.0.1"),
        ProbePod("blue", "c", "blue", "probe-a", "a", "10.1.0.1"),
    )
    green = Endpoint("green/probe-a", "10.2.0.1", "green", {"app": "a"})
    web_only = policy(
        "blue",
        {
            "podSelector": {"matchLabels": {"tier": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {}}]}],
        },
    )
    deny = policy("blue", {"podSelector": {}, "policyTypes": ["Ingress"]}, "deny")
    target = Target("blue/a:8080/tcp", "10.1.0.1", 8080, "tcp")
    matrix = expected_by_policies(
        [source],
        [target.column],
        [(source, owner, target)],
        [deny, web_only],
        NS_LABELS,
        {("blue", "probe-a"): web, ("green", "probe-a"): green},
    )
    assert matrix["green/a", target.column].value == "allowed"
    assert same_tenant(source, owner) == "another tenant"


def test_a_named_port_resolves_on_each_destination_pods_own_map() -> None:
    """Apps a and b swap http and alt: a rule on `alt` opens 8081 on a and 8080 on b, never the other."""

    def endpoint(app: str, ip: str) -> Endpoint:
        manifest: dict[str, Any] = dict(probe_pod_manifest("blue", app, "run"))
        manifest["metadata"] = {**manifest["metadata"], "namespace": "blue"}
        return endpoint_of({**manifest, "status": {"podIP": ip}})

    a, b = endpoint("a", "10.1.0.1"), endpoint("b", "10.1.0.2")
    assert port_names("blue", "a")[8081] == "alt"
    assert port_names("blue", "b")[8080] == "alt"
    assert port_names("blue", "a") != port_names("green", "a"), "tenants map names differently too"
    on_alt = policy(
        "blue",
        {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": "alt"}]}],
        },
    )
    assert allowed([on_alt], G, a, Port(8081), NS_LABELS)
    assert not allowed([on_alt], G, a, Port(8080), NS_LABELS)
    assert allowed([on_alt], G, b, Port(8080), NS_LABELS)
    assert not allowed([on_alt], G, b, Port(8081), NS_LABELS)


def test_a_name_lookup_is_disclosed_unless_no_such_host_and_error_when_dns_does_not_answer() -> None:
    observed = Matrix.build(
        ["blue/a"],
        ["connected", "timeout", "absent", "no answer"],
        {
            ("blue/a", "connected"): Cell.ALLOWED,
            ("blue/a", "timeout"): Cell.DENIED,
            ("blue/a", "absent"): Cell.ERROR,
            ("blue/a", "no answer"): Cell.ERROR,
        },
        {
            ("blue/a", "absent"): "dns-failure: lookup x.svc.cluster.local: no such host",
            ("blue/a", "no answer"): "dns-failure: lookup x: i/o timeout",
        },
    )
    resolved = as_resolution(observed)
    assert [resolved["blue/a", c] for c in observed.columns] == [Cell.ALLOWED, Cell.ALLOWED, Cell.DENIED, Cell.ERROR]


NOTHING = {"podSelector": {"matchLabels": {"caas-conformance.io/nothing": "x"}}}  # a peer matching no pod


def _without_ip_blocks(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The policies as a dataplane that never matches pods with ipBlock sees them between pods: every
    ipBlock peer replaced by a peer that matches nothing (dropping it could leave an empty peer list,
    which matches everything)."""
    out = []
    for p in policies:
        spec = dict(p["spec"])
        for key, peers_key in (("ingress", "from"), ("egress", "to")):
            spec[key] = [
                {**rule, peers_key: [NOTHING if "ipBlock" in peer else peer for peer in rule[peers_key]]}
                if rule.get(peers_key)
                else rule
                for rule in spec.get(key, [])
            ]
        out.append({**p, "spec": spec})
    return out


GENERATED_PODS = [
    Endpoint(
        f"{t}/{app}",
        f"10.1.{i}.{j + 1}",
        t,
        {"app": app, TENANT: t},
        tuple(
            Port(n, p, name)
            for n, p, name in [(8080 + j, "TCP", "http"), (8081 - j, "TCP", "alt"), (8082, "UDP", "echo")]
        ),
    )
    for i, t in enumerate(("gblue", "ggreen"))
    for j, app in enumerate(("a", "b"))
]


@given(policy_sets(("gblue", "ggreen"), ("a", "b")))
def test_the_cilium_reading_is_the_spec_reading_without_ipblock_between_pods(
    generated: list[dict[str, Any]],
) -> None:
    """Both readings of ipBlock on pod addresses, related for every generated policy set: where ipBlock never
    matches pods, pod-to-pod verdicts are those of the same policies with every ipBlock peer matching nothing."""
    ips = {p.name: p.ip for p in GENERATED_PODS}
    policies = [
        {**resolve(g, "10.1.0.0/16", ips), "metadata": {"name": g["name"], "namespace": g["tenant"]}} for g in generated
    ]
    labels = {"gblue": {TENANT: "gblue"}, "ggreen": {TENANT: "ggreen"}}
    for source in GENERATED_PODS:
        for destination in GENERATED_PODS:
            for port in (Port(8080), Port(8081), Port(8082, "UDP")):
                cilium = allowed(policies, source, destination, port, labels, ip_block_matches_pods=False)
                assert cilium == allowed(_without_ip_blocks(policies), source, destination, port, labels)
