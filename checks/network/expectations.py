"""Expected reachability from a requirement table in tenant language (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from checks.matrix import Cell, Matrix
from checks.network.probe import ProbePod, Target

Relation = Callable[[ProbePod, ProbePod], str]


Resolver = Callable[[ProbePod, str], Cell]
AS_PLAN_SAYS = "as its plan says"


def literal(_source: ProbePod, value: str) -> Cell:
    """A requirement cell written as allowed or denied."""
    return Cell(value)


def requirement_rules(datatable: Sequence[Sequence[str]]) -> dict[tuple[str, str], str]:
    """`| from | to | tcp | udp |` rows -> {(relation, protocol): requirement as written}."""
    header = [h.strip() for h in datatable[0]]
    rules: dict[tuple[str, str], str] = {}
    for row in datatable[1:]:
        values = dict(zip(header, (c.strip() for c in row), strict=True))
        for protocol in ("tcp", "udp"):
            if protocol in values:
                rules[(values["to"], protocol)] = values[protocol]
    return rules


Pair = tuple[ProbePod, ProbePod, Target]  # source, the target's owner, the target


def expected_matrix(
    sources: Sequence[ProbePod],
    columns: Sequence[str],
    pairs: Sequence[Pair],
    rules: Mapping[tuple[str, str], str],
    relation: Relation,
    resolve: Resolver = literal,
) -> Matrix:
    """One cell per probed pair: the rule for the pair's relation and the target's protocol,
    resolved for the pair's source (e.g. "as its plan says")."""
    cells = {}
    for source, owner, target in pairs:
        key = (relation(source, owner), target.protocol)
        if key in rules:
            cells[(source.label, target.column)] = resolve(source, rules[key])
    return Matrix.build([s.label for s in sources], columns, cells)


def same_tenant(source: ProbePod, owner: ProbePod) -> str:
    return "its own tenant" if source.tenant == owner.tenant else "another tenant"


def other_cluster(source: ProbePod, owner: ProbePod) -> str:
    return "same cluster" if source.cluster == owner.cluster else "other cluster"


def kind_of_target(_source: ProbePod, owner: ProbePod) -> str:
    """What a probe from outside, or towards the cluster's machinery, is aimed at."""
    return {
        "node-port": "an exposed node port",
        "svc": "a service address",
        "api-server": "the API server",
        "kubelet": "a node's kubelet",
    }.get(owner.app, "a pod")
