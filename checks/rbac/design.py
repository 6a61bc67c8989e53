"""The access matrix as products of questions (`Family`: a covering.Space and the question at each of its
cells), which cells of them the cluster is asked (all of a small tenancy, else the covering design), and
the model's agreement with the API server on what was asked (pure)."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from checks.matrix import Cell, Matrix
from checks.rbac import covering
from checks.rbac.access import Observation, Probe
from harness.settings import Covering
from provisioning.model.tenancy import Identity, Tenant

# Past this many tenants on the cluster an observation is asked its covering design (CAAS_RBAC_EVERY_CELL_TENANTS):
# the lab's runs of 2-3 tenants and the bench's 5 ask every cell, 6 tenants no longer.
EVERY_CELL_TENANTS = Covering().every_cell_tenants
CELL_BUDGET = Covering().budget  # the most cells a covering design asks (CAAS_RBAC_CELL_BUDGET): cuts the sample
SAMPLE = Covering().sample  # the covering design's random cells (CAAS_RBAC_SAMPLE)
# Of a check linear in the tenants past EVERY_CELL_TENANTS, the share of its questions (besides one of every
# identity kind x item and one of every tenant) the access reviews are asked too (`cross_checked_linear`).
CROSS_SHARE = 0.05

T = TypeVar("T")
Who = TypeVar("Who")


class Asked(Protocol):
    """What a family's question is to the design: its probe, the model's answer, its scope."""

    @property
    def probe(self) -> Probe: ...

    @property
    def expected(self) -> Cell: ...


Q = TypeVar("Q", bound=Asked)


def subject_of(identity: object) -> covering.Subject:
    """A tenant identity as the design sees it: kind "<authenticator> <role>" (e.g. "oidc viewer") and its
    tenant; anything else (a service account) by its `name` and `tenant` attributes."""
    if isinstance(identity, Identity):
        return covering.Subject(f"{identity.authenticator.value} {identity.role.value}", identity.tenant)
    return covering.Subject(str(getattr(identity, "name", "")), str(getattr(identity, "tenant", "")))


def namespaces_of(names: Iterable[str], tenants: Sequence[Tenant]) -> tuple[covering.Namespace, ...]:
    """`names` with the tenant owning each ("" for none; "" is cluster-wide or all namespaces)."""
    owners = {t.namespace: t.name for t in tenants}
    return tuple(covering.Namespace(n, owners.get(n, "")) for n in names)


@dataclass(frozen=True)
class Family(Generic[Q]):
    """Every question identities x namespaces x items of one scope: `space` names them for the design,
    `question(s, n, i)` builds the one at a cell (probe and the model's answer) only when it is asked."""

    space: covering.Space
    question: Callable[[int, int, int], Q]

    def every(self) -> list[Q]:
        """Every question of the family, identity-major (the order the matrix shows)."""
        space = self.space
        return [
            self.question(s, n, i)
            for s in range(len(space.subjects))
            for n in range(len(space.namespaces))
            for i in range(len(space.items))
        ]


def family(
    scope: str,
    identities: Sequence[Who],
    namespaces: Sequence[covering.Namespace],
    items: Sequence[tuple[str, T]],
    ask: Callable[[Who, str, T], Q],
) -> Family[Q]:
    """The family of `ask(identity, namespace name, item)` over identities x namespaces x items, each item
    (label, what `ask` needs) labelled for the design (e.g. "get pods")."""
    space = covering.Space(
        scope, tuple(subject_of(i) for i in identities), tuple(namespaces), tuple(label for label, _ in items)
    )
    return Family(space, lambda s, n, i: ask(identities[s], namespaces[n].name, items[i][1]))


def tenants_of(spaces: Sequence[covering.Space]) -> int:
    """How many tenants the spaces' identities and namespaces belong to."""
    return len(
        {s.tenant for space in spaces for s in space.subjects if s.tenant}
        | {n.owner for space in spaces for n in space.namespaces if n.owner}
    )


def chosen(
    families: Sequence[Family[Q]],
    budget: int = CELL_BUDGET,
    sample: int = SAMPLE,
    seed: int | None = None,
    every_cell_tenants: int = EVERY_CELL_TENANTS,
    pairs: bool = True,
) -> tuple[covering.Design | None, list[Q]]:
    """(the design, the questions asked): every question when the families' identities and namespaces
    belong to at most `every_cell_tenants` tenants (design None), else the covering design's
    (covering.cover with `seed`, a fresh one when None, and `sample` random cells, cut so that at most
    `budget` cells are asked when the required ones leave room), in the families' order. The asked
    cells grow as ~N^2 + N per family (one cell per ordered tenant pair), not with the whole product;
    with `pairs` False (the service accounts' and streams' families: the pairs are the access matrix's
    guarantee) as ~N per family (covering.cover)."""
    spaces = [f.space for f in families]
    if tenants_of(spaces) <= every_cell_tenants:
        return None, [q for f in families for q in f.every()]
    design = covering.cover(spaces, secrets.randbelow(2**31) if seed is None else seed, sample, budget, pairs)
    return design, [families[k].question(s, n, i) for k, s, n, i in design.asked]


def cross_checked(families: Sequence[Family[Q]], design: covering.Design | None) -> set[int] | None:
    """The positions in `design.asked` (the questions `chosen` returned) the cross-check ways (the access
    reviews) are asked too, the real request being asked of every one: the design's random sample, one
    cell of every (space, identity kind, relation) and one of every tenant's identities, the last two
    drawn from `random.Random(design.seed)` (pure, repeatable from the seed). None (every question every
    way) for a small tenancy's matrix (design None). Issue 23: the real request is the truth; the reviews
    show where the authorizer's own account of a cell differs from it, which the sample finds if it is
    systematic (a wrong binding of a kind of identity) and the per-kind and per-tenant cells if it is
    confined to one kind or one tenant."""
    if design is None:
        return None
    rng = random.Random(design.seed)  # noqa: S311 - a subset repeatable from its seed, not a secret
    position = {index: at for at, index in enumerate(design.asked)}
    picked = {position[index] for index in design.sampled if index in position}
    by_key: dict[tuple[object, ...], list[int]] = {}
    for at, (k, s, n, _i) in enumerate(design.asked):
        space = families[k].space
        subject = space.subjects[s]
        by_key.setdefault((k, subject.kind, covering.relation(subject, space.namespaces[n])), []).append(at)
        by_key.setdefault(("tenant", subject.tenant), []).append(at)
    picked.update(rng.choice(found) for _key, found in sorted(by_key.items(), key=lambda kv: repr(kv[0])))
    return picked


def cross_checked_linear(
    keys: Sequence[tuple[str, str, str]], seed: int, share: float, every_cell_tenants: int = EVERY_CELL_TENANTS
) -> set[int] | None:
    """The positions of the questions of a check linear in the tenants (escalation attempts, the provider's
    objects, non-resource paths: one per identity and item) the cross-check ways are asked too, each
    question's key (identity kind, tenant, item): one question of every (identity kind, item), one of every
    tenant and a seeded random `share` (0-1) of the others (random.Random(seed), pure); None (every question
    every way) when the keys name at most `every_cell_tenants` tenants. ValueError for a share outside 0-1."""
    if not 0 <= share <= 1:
        raise ValueError(f"share: {share} (fix: a fraction from 0 to 1)")
    tenants = {tenant for _kind, tenant, _item in keys if tenant}
    if len(tenants) <= every_cell_tenants:
        return None
    rng = random.Random(seed)  # noqa: S311 - a subset repeatable from its seed, not a secret
    by_key: dict[tuple[str, ...], list[int]] = {}
    for at, (kind, tenant, item) in enumerate(keys):
        by_key.setdefault(("item", kind, item), []).append(at)
        by_key.setdefault(("tenant", tenant), []).append(at)
    picked = {rng.choice(found) for _key, found in sorted(by_key.items())}
    rest = [at for at in range(len(keys)) if at not in picked]
    picked.update(rng.sample(rest, round(share * len(rest))))
    return picked


def _expected(questions: Sequence[Asked]) -> dict[tuple[str, str], Cell]:
    """The model's answer per asked cell; a cell asked twice (a positive control the design asked too) once."""
    return {(q.probe.row, q.probe.column): q.expected for q in questions}


def _agreeing(expected: Mapping[tuple[str, str], Cell], matrix: Matrix) -> tuple[int, int]:
    """(cells agreeing with the model, cells answered ALLOWED or DENIED) of one way's matrix."""
    answered = agree = 0
    for key, want in expected.items():
        got = matrix[key]
        if got in (Cell.ALLOWED, Cell.DENIED):
            answered += 1
            agree += got is want
    return agree, answered


def agreement(questions: Sequence[Asked], observation: Observation) -> str:
    """One line per way: on how many of the asked cells it answered (ALLOWED or DENIED) the way agrees with
    the model, e.g. "model vs request: 12,340 of 12,345 answered cells agree (99.96%)"; a cell asked twice
    (a positive control the design asked too) counts once."""
    lines = []
    expected = _expected(questions)
    for way, matrix in observation.ways.items():
        agree, answered = _agreeing(expected, matrix)
        share = f" ({100 * agree / answered:.2f}%)" if answered else ""
        lines.append(f"model vs {way}: {agree:,} of {answered:,} answered cells agree{share}")
    return "\n".join(lines)


def figure(design: covering.Design | None, questions: Sequence[Asked], observation: Observation) -> str:
    """What a verdict on the matrix rests on, for the records (`checks.evidence.record_figure`), e.g.
    "asked 1,234 of 56,789 cells (covering design, seed 42); 55,555 inferred from the model, agreement
    99.96%" (agreement: the model with the real requests on the asked cells they answered, `agreement`), or
    "asked every cell (1,234)" when every cell was asked (a small tenancy, `chosen`; every cell distinct, the
    positive controls and extra questions included)."""
    expected = _expected(questions)
    if design is None:
        return f"asked every cell ({len(expected):,})"
    agree, answered = _agreeing(expected, observation.request) if "request" in observation.ways else (0, 0)
    share = f"agreement {100 * agree / answered:.2f}%" if answered else "no asked cell answered to agree on"
    return (
        f"asked {len(design.asked):,} of {design.cells:,} cells (covering design, seed {design.seed}); "
        f"{design.inferred:,} inferred from the model, {share}"
    )


def cross_line(observation: Observation, seed: int) -> str:
    """One line: which cells the cross-check ways were asked besides the real request, e.g. "the real
    request asked of every cell (9,600), the access reviews of a seeded subset (seed 7): ...;
    subjectaccessreview 1,130 asked" (`Observation.asked` per way)."""
    asked = observation.asked()
    first, *others = asked
    rest = "; ".join(f"{way} {asked[way]:,} asked" for way in others)
    subset = f"the access reviews of a seeded subset (seed {seed}): {rest}"
    return f"the real {first} asked of every cell ({asked[first]:,}), {subset}"


def coverage(design: covering.Design | None, questions: Sequence[Asked], observation: Observation) -> str:
    """What was asked and what was inferred from the model, then the model's agreement per way (with a
    design: which cells the cross-check ways asked, `cross_checked`)."""
    asked = (
        f"{design.describe()}\n{cross_line(observation, design.seed)}"
        if design
        else f"every cell asked ({len(questions):,}, within the budget): none inferred from the model"
    )
    return f"{asked}\n{agreement(questions, observation)}"
