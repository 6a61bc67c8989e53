"""What a tenant learns about other tenants through cluster DNS: whether their service and pod names
resolve. Observation only.

Each name is given to `caas-probe connect` as a host of protocol "dns", fully qualified with a trailing
dot (the column keeps the name without it): the probe only looks it up, it tries no connection (at 100
tenants a name run whose probes also connected waited out the probe timeout on every other tenant's
address the network policies drop). A rooted name is asked once per record type, A and AAAA, where a
relative one is first tried under every search domain of the pod's resolv.conf (ndots:5: 8 queries a
name instead of 2, which overloaded the cluster's DNS server at 12 pods x 154 names).

Reading an outcome (`as_resolution`): "no such host" is DENIED (the name is not disclosed); "resolved"
(or, from a probe that connects, any outcome after the name resolved) is ALLOWED (disclosed); a DNS
server that did not answer, or any other dns-failure, is ERROR.

"no such host" is a weak denial, so a denial is earned twice over (`resolve_names`):

- Go's resolver says "no such host" (errNoSuchHost) both for NXDOMAIN (checkHeader: RCodeNameError)
  and for an answer without a record of the asked type (skipToAnswer: NODATA), and for a rooted name
  it keeps the first error of its parallel A and AAAA queries (goLookupIPCNAMEOrder: `lastErr == nil
  || fqdn == name+"."`; Go source, net/dnsclient_unix.go). In an IPv4 cluster the AAAA query of an
  existing name is NODATA, so when the overloaded server drops the A query the lookup ends "no such
  host" for a name that exists. Reproduced with a server that drops A and answers AAAA NODATA: Go
  1.26 LookupHost("x.") -> "no such host", LookupHost("x") -> "i/o timeout". This is the false
  denial measured on the lab (69 names of 1,848 lookups in one run with rooted names, 4 with
  relative ones); the probe now asks A and AAAA apart and says "no such host" only when both say so
  (provisioning/lab/go/images/cmd/probe).
- CoreDNS's kubernetes plugin answers from its informers' copy of the API objects (CoreDNS docs,
  plugins/kubernetes): a Service or namespace its watch has not delivered yet is NXDOMAIN, and the
  `cache` plugin keeps that denial for up to its TTL (`cache 5` in the lab's Corefile, so 5 s; "TTL
  max TTL in seconds ... 1800 for denial of existence" when unset, CoreDNS docs, plugins/cache).
  With `pods insecure` a pod name is answered from the name itself once its namespace is known.

So: (1) the per-name positive control: a denial of a name counts only when the name's owner tenant's
own pods were seen to resolve it (their cells ALLOWED; the absent name's control is its namespace's
service name), judged by the one positive-control rule `checks.matrix.apply_positive_control` with
those cells as named controls, column by column; a name no owner pod asks cannot be denied (ERROR).
(2) the re-ask: after every owner's pods resolved the names whose denials are in question (a wait
within `OWNERS_RESOLVE_WITHIN`, harness.wait.wait_until), every DENIED cell is asked once more; a
cell that resolves now is ALLOWED ("resolved on the second ask"), one that is "no such host" again is
DENIED, one without an answer is ERROR.

A recheck (`ProbeRun.recheck`: observe_until_converged's later rounds) asks only the cells that
differed, and earns their denials the same way within that ask: the owner controls of the denied
names' columns are asked afresh (cells of the earlier round are never reused, so a control this
recheck did not see ALLOWED holds no denial), then the denied cells once more. Only the cells asked
are returned; every other cell, the controls asked for the judgment included, is UNOBSERVED.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence

from checks.matrix import Cell, Matrix, apply_positive_control
from checks.network.expectations import Pair
from checks.network.probe import TCP_PORTS, ProbePod, Target
from checks.network.runs import Cells, ProbeRun
from checks.network.services import TenantService
from harness.wait import WaitTimeout, wait_until

LOOKUP = "dns"  # the probe protocol that only looks a name up (caas-probe connect)
NOT_FOUND = "no such host"  # Go's resolver on NXDOMAIN (and on NODATA: see the module's text)
CLUSTER_DOMAIN = "cluster.local"  # as TenantService.dns_name
ABSENT = "caas-absent"  # a Service name no one creates
SECOND_ASK = "resolved on the second ask"
# Concurrent execs of a name run: fewer than a reachability run's (probe.EXECS), since every exec asks the
# cluster's one DNS server two queries a name at once (A and AAAA), and a dropped query is an error.
EXECS = 16
OWNERS_RESOLVE_WITHIN = 20.0  # seconds for the owners' pods to resolve their names before the re-ask

Ask = Callable[[Cells | None], tuple[Matrix, int]]  # ask these cells (None: all) -> (resolution, probes)


def pod_dns_name(pod: ProbePod, domain: str = CLUSTER_DOMAIN) -> str:
    """The pod's A record name (CoreDNS `pods insecure|verified`: a-b-c-d.<namespace>.pod.<domain>)."""
    return f"{pod.ip.replace('.', '-')}.{pod.namespace}.pod.{domain}"


def rooted(name: str) -> str:
    """The name fully qualified (a trailing dot), so that no search domain is tried first."""
    return name if name.endswith(".") else f"{name}."


def name_targets(
    pods: Sequence[ProbePod], services: Sequence[TenantService], domain: str = CLUSTER_DOMAIN
) -> list[tuple[ProbePod, Target]]:
    """Every service's and every pod's DNS name, each owned by its tenant's pod or service, and one name of
    no Service (owned by `ABSENT`), which must never resolve. Hosts are rooted (`rooted`), columns show
    the name without the dot."""
    port = TCP_PORTS[0]  # never dialled: a "dns" target is only looked up
    targets = [(s.owner, Target(f"{s.dns_name} (name)", rooted(s.dns_name), port, LOOKUP)) for s in services]
    targets += [
        (p, Target(f"{p.label} pod (name)", rooted(pod_dns_name(p, domain)), port, LOOKUP)) for p in pods if p.namespace
    ]
    if services:  # the negative control: a name nobody made must not resolve (denials are observable)
        owner = services[0].owner
        absent = f"{ABSENT}.{owner.namespace}.svc.{domain}"
        nobody = ProbePod(owner.tenant, owner.cluster, owner.namespace, ABSENT, ABSENT, "")
        targets.append((nobody, Target(f"{absent} (name)", rooted(absent), port, LOOKUP)))
    return targets


def as_resolution(observed: Matrix) -> Matrix:
    """Probe outcomes -> allowed (the name resolved), denied (no such host), error (no answer)."""
    cells: dict[tuple[str, str], Cell] = {}
    for key, cell in observed.cells.items():
        detail = observed.evidence.get(key, "")
        if cell in (Cell.ALLOWED, Cell.DENIED):
            cells[key] = Cell.ALLOWED
        elif detail.startswith("dns-failure") and NOT_FOUND in detail:
            cells[key] = Cell.DENIED
        else:
            cells[key] = cell
    return Matrix(observed.rows, observed.columns, cells, dict(observed.evidence))


def owner_controls(pairs: Iterable[Pair]) -> dict[str, list[tuple[str, str]]]:
    """{column: the (row, column) cells in which the name's owner tenant's own pods ask it} (pure). The
    absent name's controls are those of the service name in its namespace (the DNS server answers for
    that namespace); a column no owner pod asks maps to []."""
    pairs = list(pairs)
    controls: dict[str, list[tuple[str, str]]] = {t.column: [] for _, _, t in pairs}
    service_column: dict[tuple[str, str], str] = {}  # (cluster, namespace) -> its service name's column
    for source, owner, target in pairs:
        if owner.app == "svc":
            service_column.setdefault((owner.cluster, owner.namespace), target.column)
        if owner.app != ABSENT and source.tenant == owner.tenant:
            controls[target.column].append((source.label, target.column))
    for _, owner, target in pairs:
        if owner.app == ABSENT:
            sibling = service_column.get((owner.cluster, owner.namespace))
            controls[target.column] = list(controls[sibling]) if sibling else []
    return {column: list(dict.fromkeys(cells)) for column, cells in controls.items()}


def with_owner_controls(observed: Matrix, controls: Mapping[str, Sequence[tuple[str, str]]]) -> Matrix:
    """`observed` with every DENIED cell whose name's owner controls did not all hold turned ERROR (pure):
    `apply_positive_control` with the column's `controls` named, column by column (each on the column and
    its control cells as observed); a DENIED cell of a column without controls is ERROR ("no pod of the
    name's owner asked it")."""
    cells, evidence = dict(observed.cells), dict(observed.evidence)
    in_column: dict[str, list[tuple[str, str]]] = {}  # column -> its observed cells
    for key in observed.cells:
        in_column.setdefault(key[1], []).append(key)
    for column, named in controls.items():
        denied = [k for k in in_column.get(column, ()) if observed.cells[k] is Cell.DENIED]
        if not denied:
            continue
        if not named:
            for key in denied:
                cells[key] = Cell.ERROR
                evidence[key] = (
                    f"no pod of the name's owner asked it, so its denial proves nothing: {evidence.get(key, '')}"
                )
            continue
        keys = set(in_column.get(column, ())) | {k for k in named if k in observed.cells}
        part = observed.only(keys, columns=tuple(dict.fromkeys([column, *(c for _, c in named)])))
        checked = apply_positive_control(part, part, named)
        for key in denied:
            cells[key], evidence[key] = checked.cells[key], checked.evidence.get(key, "")
    layers = {k: v for k, v in observed.layers.items() if cells.get(k) is observed.cells.get(k)}
    return Matrix(observed.rows, observed.columns, cells, evidence, layers)


def reasked(first: Matrix, again: Matrix, denied: Cells) -> Matrix:
    """`first` with its `denied` cells judged by their second ask `again` (pure): resolved now -> ALLOWED
    ("resolved on the second ask"), "no such host" again -> DENIED, anything else -> ERROR."""
    cells, evidence = dict(first.cells), dict(first.evidence)
    for key in denied:
        before, now, detail = first.evidence.get(key, ""), again[key], again.evidence.get(key, "")
        if now is Cell.ALLOWED:
            cells[key], evidence[key] = Cell.ALLOWED, f"{SECOND_ASK} ({detail}; first: {before})"
        elif now is Cell.DENIED:
            cells[key], evidence[key] = Cell.DENIED, f"{NOT_FOUND} on both asks: {detail}"
        else:
            cells[key] = Cell.ERROR
            evidence[key] = f"{NOT_FOUND} on the first ask, {now.value} on the second: {detail or 'no answer'}"
    return Matrix(first.rows, first.columns, cells, evidence, dict(first.layers))


def resolve_names(
    controls: Mapping[str, Sequence[tuple[str, str]]],
    ask: Ask,
    within: float = OWNERS_RESOLVE_WITHIN,
    cells: Cells | None = None,
) -> tuple[Matrix, int]:
    """One observation of the names `cells` (None: all): ask them; if any cell is DENIED, wait (within
    `within` seconds) until every control of the denied names is ALLOWED in this observation, asking only
    those not yet (a control not among `cells` is UNOBSERVED, so it is asked), then ask the DENIED cells
    once more (`reasked`); last, the per-name controls (`with_owner_controls`). -> (matrix, probes made):
    with `cells` given, only those cells are in the matrix (the rest UNOBSERVED). A wait that runs out is
    no error here: its controls stay unheld, so the denials of those names end ERROR."""
    observed, probes = ask(cells)
    denied = {k for k, cell in observed.cells.items() if cell is Cell.DENIED}
    if denied:
        pending = {c for _, column in denied for c in controls.get(column, ()) if observed[c] is not Cell.ALLOWED}

        def ask_pending() -> Matrix:
            nonlocal observed, probes
            if pending:
                seen, count = ask(set(pending))
                observed, probes = observed.merge(seen), probes + count
                pending.difference_update(c for c in list(pending) if observed[c] is Cell.ALLOWED)
            return observed

        # a wait that runs out leaves the controls unheld: with_owner_controls turns those denials ERROR
        with contextlib.suppress(WaitTimeout):
            wait_until(
                ask_pending,
                lambda _m: not pending,
                timeout=within,
                what=f"the owners' pods to resolve their own names before the re-ask ({len(pending)} cells)",
                interval=0.5,
                retry_on=(),
            )
        again, count = ask(denied)
        observed, probes = reasked(observed, again, denied), probes + count
    judged = with_owner_controls(observed, controls)
    return (judged if cells is None else judged.only(cells)), probes


def observe_names(run: ProbeRun, cells: Cells | None = None) -> tuple[Matrix, int]:
    """The observer of a name run (`ProbeRun.observer`): `resolve_names` over the run's pairs, of only
    `cells` (None: every pair; given: a recheck's cells, the rest left UNOBSERVED), each ask one
    `caas-probe connect` per source pod of only the cells asked. -> (resolution matrix, probes made)."""
    targets = [t for _, t in run.targets]
    prober = dataclasses.replace(run.prober, workers=min(EXECS, run.prober.workers))

    def ask(cells: Cells | None) -> tuple[Matrix, int]:
        wanted = run.cells if cells is None else cells
        observation = prober.observe(run.sources, targets, skip=lambda s, t: (s.label, t.column) not in wanted)
        return as_resolution(observation.matrix), observation.probes

    return resolve_names(owner_controls(run.pairs), ask, cells=cells)
