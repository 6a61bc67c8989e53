"""A covering design of the access matrix: which of its cells the cluster is asked when the whole product
of identities x namespaces x resources x verbs is too large to ask (pure).

Source: issue 23 (provider scale: 100 tenants on one shared cluster): "the pure model answers every cell
and the cluster is asked a covering design: every identity kind x every namespace at least once, every
resource x verb x identity kind at least once, every tenant pair in both directions, plus a random sample
whose seed is in the report". The field's terms are covering arrays and pairwise (all-pairs) testing
(NIST SP 800-142, "Practical Combinatorial Testing"): every pair of values of the chosen factors appears
in at least one test, instead of every combination of all factors.

The matrix is a union of `Space`s, each a product subjects x namespaces x items (an item is a resource,
subresource or path with one verb) of one scope. Per space the design asks at least one cell of:

1. every ordered pair of tenants (A, B), A != B: one of A's identities in B's namespace (a fence asked in
   both directions), once for all the spaces of a design (the first space with tenant namespaces asks
   them: the access matrix's tenant resources; its subresources ask none again); the items and identity
   kinds are dealt round-robin from a seeded shuffle, so these cells also cover most of 3 for the other
   tenants' namespaces. The service accounts' and streams' designs leave 1 out (`cover`'s `pairs`: the
   pairs are the access matrix's guarantee) and keep 2 and 3;
2. every (identity kind, namespace): each kind of identity (a certificate admin, an OIDC viewer, a
   tenant's default service account, ...) in every namespace of the space;
3. every (identity kind, relation, item): each kind of identity asks every item in its own namespace,
   another tenant's, a namespace of no tenant and cluster-wide (`relation`), as the space has them;
4. a uniform random sample of `sample` cells of all the spaces (seeded: `random.Random(seed)`), cut to
   what a `limit` on the asked cells leaves after 1-3 (1-3 are never cut).

Requirement 1 is one cell per ordered pair (N(N-1), not N(N-1) x kinds x items), 2 grows with kinds x
namespaces, 3 does not grow with the tenants: the design asks about N^2 + 6N per space + a constant
cells where the product grows with N^2 x kinds x items. Measured on the lab's API (v1.34, 250 namespaced
resource verbs, 6 identities a tenant), the access matrix's design was ~27,700 cells at 100 tenants with
the pairs asked per space (2 x 9,900 of them) of 21 million cells; once per design, ~17,800. Every choice comes from one
`random.Random(seed)`: the same spaces and seed give the same design.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

OWN = "own"
OTHER = "other tenant's"
PROVIDER = "no tenant's"
CLUSTER = "cluster-wide"

PAIRS = "tenant x tenant"
KIND_NAMESPACE = "identity kind x namespace"
KIND_ITEM = "identity kind x relation x resource x verb"
REQUIREMENTS = (PAIRS, KIND_NAMESPACE, KIND_ITEM)

Index = tuple[int, int, int, int]  # (space, subject, namespace, item)
# Requirement 3 asks its items in runs of this many per (identity, namespace), each run's pair drawn anew:
# one SelfSubjectRulesReview answers a run's self reviews (checks.rbac.rules, groups of 3 or more), a
# third of its requests, while the runs still spread the items over the kind's identities and namespaces.
RUN = 25


@dataclass(frozen=True)
class Subject:
    """Who asks (a matrix row): its kind (e.g. "certificate admin") and its tenant ("" for none)."""

    kind: str
    tenant: str = ""


@dataclass(frozen=True)
class Namespace:
    """Where it asks: a namespace's name ("" for cluster-wide or all namespaces) and the tenant that owns
    it ("" for a namespace of no tenant)."""

    name: str
    owner: str = ""


def relation(subject: Subject, namespace: Namespace) -> str:
    """OWN, OTHER, PROVIDER or CLUSTER: where `namespace` stands to `subject`."""
    if namespace.owner:
        return OWN if namespace.owner == subject.tenant else OTHER
    return PROVIDER if namespace.name else CLUSTER


@dataclass(frozen=True)
class Space:
    """Every cell subjects x namespaces x items of one scope (Question.scope); items name a resource (or
    subresource, or path) and a verb, e.g. "get pods/log"."""

    scope: str
    subjects: tuple[Subject, ...]
    namespaces: tuple[Namespace, ...]
    items: tuple[str, ...]

    @property
    def cells(self) -> int:
        return len(self.subjects) * len(self.namespaces) * len(self.items)

    def keys(self, subject: int, namespace: int, item: int) -> dict[str, tuple[str, ...]]:
        """The requirement keys the cell (subject, namespace, item) covers, by requirement name."""
        s, n = self.subjects[subject], self.namespaces[namespace]
        found: dict[str, tuple[str, ...]] = {
            KIND_NAMESPACE: (s.kind, n.name, n.owner),
            KIND_ITEM: (s.kind, relation(s, n), self.items[item]),
        }
        if s.tenant and n.owner and s.tenant != n.owner:
            found[PAIRS] = (s.tenant, n.owner)
        return found

    def required(self) -> dict[str, set[tuple[str, ...]]]:
        """Every requirement key of the space, by requirement name (what a design must cover)."""
        kinds = dict.fromkeys(s.kind for s in self.subjects)
        tenants = dict.fromkeys(s.tenant for s in self.subjects if s.tenant)
        owners = dict.fromkeys(n.owner for n in self.namespaces if n.owner)
        relations = {(s.kind, relation(s, n)) for s in self.subjects for n in self.namespaces} if self.items else set()
        return {
            PAIRS: {(a, b) for a in tenants for b in owners if a != b} if self.items else set(),
            KIND_NAMESPACE: {(k, n.name, n.owner) for k in kinds for n in self.namespaces} if self.items else set(),
            KIND_ITEM: {(k, r, i) for k, r in relations for i in self.items},
        }


@dataclass(frozen=True)
class Design:
    """The cells asked of a union of spaces: `asked` (space, subject, namespace, item) indices in order;
    `cells` of all the spaces; `required` how many keys each requirement had; `seed` and `sample`
    as asked of `cover`; `drawn` the random cells drawn (`sample`, or fewer: the spaces' cells or what
    `cover`'s limit left; None: `sample`); `sampled` those cells."""

    seed: int
    sample: int
    cells: int
    asked: tuple[Index, ...]
    required: Mapping[str, int] = field(default_factory=dict)
    drawn: int | None = None
    sampled: tuple[Index, ...] = ()  # the random cells drawn (requirement 4), in the order drawn

    @property
    def inferred(self) -> int:
        """Cells not asked: the model's answer stands for them."""
        return self.cells - len(self.asked)

    def describe(self) -> str:
        """One line: what was asked and why, the seed to repeat it."""
        needs = ", ".join(f"every {name} ({count})" for name, count in self.required.items())
        drawn = self.sample if self.drawn is None else self.drawn
        cut = f" (cut from {self.sample} by the cell budget)" if drawn < min(self.sample, self.cells) else ""
        return (
            f"covering design (seed {self.seed}): {len(self.asked)} of {self.cells} cells asked ({needs}, "
            f"a random sample of {drawn}{cut}); {self.inferred} inferred from the model, not observed"
        )


def every_cell(spaces: Sequence[Space]) -> Design:
    """The design that asks every cell (the matrix within its budget)."""
    asked = tuple(
        (k, s, n, i)
        for k, space in enumerate(spaces)
        for s, n, i in itertools.product(
            range(len(space.subjects)), range(len(space.namespaces)), range(len(space.items))
        )
    )
    return Design(0, 0, len(asked), asked)


def cover(spaces: Sequence[Space], seed: int, sample: int, limit: int | None = None, pairs: bool = True) -> Design:
    """The covering design of `spaces` (see the module docstring): every requirement key of every space
    covered by at least one asked cell, plus `sample` cells drawn uniformly from all of them (fewer
    when the spaces have fewer cells, or when `limit` cells minus the required ones leave fewer; the
    required cells are asked whatever `limit` says). `pairs` False leaves requirement 1 (every ordered
    tenant pair) out: it is the access matrix's guarantee, its service accounts and streams keep 2-4.
    Deterministic in (spaces, seed, sample, limit, pairs); ValueError for a negative sample."""
    if sample < 0:
        raise ValueError(f"sample: {sample} (fix: 0 or more cells)")
    rng = random.Random(seed)  # noqa: S311 - a design repeatable from its seed, not a secret
    asked: set[Index] = set()
    required: dict[str, int] = dict.fromkeys(REQUIREMENTS, 0)
    every_pair: set[tuple[str, ...]] = set()  # requirement 1 is the spaces' together: one cell a pair
    done: set[tuple[str, ...]] = set()  # the pairs an earlier space's cells asked
    for k, space in enumerate(spaces):
        if not space.cells:
            continue
        for name, keys in space.required().items():
            if name == PAIRS:
                every_pair |= keys if pairs else set()
            else:
                required[name] += len(keys)
        cells = _cover_space(space, rng, pairs, done)
        asked.update((k, s, n, i) for s, n, i in cells)
        done |= {key for s, n, i in cells for name, key in space.keys(s, n, i).items() if name == PAIRS}
    required[PAIRS] = len(every_pair)
    total = sum(space.cells for space in spaces)
    drawn = min(sample, total) if limit is None else max(0, min(sample, total, limit - len(asked)))
    sampled = tuple(_decode(spaces, flat) for flat in rng.sample(range(total), drawn))
    asked.update(sampled)
    if not pairs:
        required.pop(PAIRS)
    return Design(seed, sample, total, tuple(sorted(asked)), required, drawn, sampled)


def _decode(spaces: Sequence[Space], flat: int) -> Index:
    """The cell at position `flat` of the spaces laid end to end, each subject-major."""
    for k, space in enumerate(spaces):
        if flat < space.cells:
            s, rest = divmod(flat, len(space.namespaces) * len(space.items))
            n, i = divmod(rest, len(space.items))
            return k, s, n, i
        flat -= space.cells
    raise IndexError(flat)


def _dealt(values: Sequence[int], rng: random.Random) -> Iterator[int]:
    """`values` shuffled, round after round, each round reshuffled: every value once per round."""
    while True:
        order = list(values)
        rng.shuffle(order)
        yield from order


def _cover_space(
    space: Space, rng: random.Random, every_pair: bool = True, done: Collection[tuple[str, ...]] = ()
) -> set[tuple[int, int, int]]:
    """One space's cells covering its requirements (1 when `every_pair`, but not the pairs `done` by an
    earlier space; 2, 3 of the module docstring, in that order; a key an earlier cell covers is not asked
    again)."""
    chosen: set[tuple[int, int, int]] = set()
    covered: dict[str, set[tuple[str, ...]]] = {name: set() for name in REQUIREMENTS}

    def take(s: int, n: int, i: int) -> None:
        chosen.add((s, n, i))
        for name, key in space.keys(s, n, i).items():
            covered[name].add(key)

    items = _dealt(range(len(space.items)), rng)
    by_tenant: dict[str, list[int]] = {}
    for s, subject in enumerate(space.subjects):
        by_tenant.setdefault(subject.tenant, []).append(s)
    owned: dict[str, list[int]] = {}
    for n, namespace in enumerate(space.namespaces):
        owned.setdefault(namespace.owner, []).append(n)
    dealers = {t: _dealt(subjects, rng) for t, subjects in by_tenant.items()}
    for a in (t for t in by_tenant if t and every_pair):  # 1: every ordered tenant pair
        for b in (t for t in owned if t and t != a and (a, t) not in done):
            take(next(dealers[a]), rng.choice(owned[b]), next(items))
    by_kind: dict[str, list[int]] = {}
    for s, subject in enumerate(space.subjects):
        by_kind.setdefault(subject.kind, []).append(s)
    for kind, subjects in by_kind.items():  # 2: every identity kind in every namespace
        for n, namespace in enumerate(space.namespaces):
            if (kind, namespace.name, namespace.owner) not in covered[KIND_NAMESPACE]:
                take(rng.choice(subjects), n, next(items))
    for kind, subjects in by_kind.items():  # 3: every kind, relation and item
        pairs: dict[str, list[tuple[int, int]]] = {}
        for s in subjects:
            for n, namespace in enumerate(space.namespaces):
                pairs.setdefault(relation(space.subjects[s], namespace), []).append((s, n))
        for where, candidates in pairs.items():
            missing = [i for i, item in enumerate(space.items) if (kind, where, item) not in covered[KIND_ITEM]]
            for start in range(0, len(missing), RUN):  # a run of items per identity and namespace
                at = rng.choice(candidates)
                for i in missing[start : start + RUN]:
                    take(*at, i)
    return chosen
