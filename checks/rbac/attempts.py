"""Attempts every tenant identity makes and the tenancy model denies (check_rbac_003 escalation,
check_rbac_004 the provider's objects): the feature's table -> questions (expected denied, with each
identity's own-namespace positive controls), asked three ways on the shared cluster. Under `onboarding:
existing` the provider's objects are the provider's own, by the names read from its fences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from checks.matrix import Cell
from checks.rbac.access import Probe
from checks.rbac.discovery import ApiResource, discover
from checks.rbac.escalation import ESCALATIONS, Context, change_provider_object, provider_object_names
from checks.rbac.matrix import AccessRun, Question, own_namespace_controls
from checks.rbac.reach import observe
from harness.settings import Covering
from provisioning.tenancy import ProvisionedCluster, ProvisionedTenancy
from provisioning.tenancy_existing import read_fences


def table_rows(datatable: Sequence[Sequence[str]]) -> list[dict[str, str]]:
    """A feature table with a header row -> one {header: cell} a row, blanks stripped (pure; ValueError
    when a row has more or fewer cells than the header)."""
    header = [h.strip() for h in datatable[0]]
    return [dict(zip(header, (c.strip() for c in row), strict=True)) for row in datatable[1:]]


def attempt_probe(context: Context, row: Mapping[str, str], name: str = "") -> Probe:
    """`| attempt | action |` on what the provider made (escalation.PROVIDER_OBJECTS, change or delete; the
    object `name`, default the suite's onboarding's), or `| attempt |` one of escalation.ESCALATIONS
    (KeyError for an attempt the suite does not know)."""
    if "action" in row:
        return change_provider_object(context, row["attempt"], row["action"], name)
    return ESCALATIONS[row["attempt"]](context, row["attempt"])


def attempt_questions(
    cluster: ProvisionedCluster,
    resources: Sequence[ApiResource],
    rows: Sequence[Mapping[str, str]],
    provider_names: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Question]:
    """Every identity of every tenant on `cluster` makes every attempt against its own tenant and the next
    other one, expected denied, after the own-namespace positive controls (pure). `provider_names`
    (`onboarding: existing`): tenant -> attempt -> the provider's object it changes; an attempt on a kind
    the provider made none of in a tenant's namespace is not asked for that tenant (its cell stays
    unobserved: nothing of the provider's is there to protect)."""
    questions = own_namespace_controls(cluster, resources)
    tenants = cluster.tenants
    for own in tenants:
        other = next(t for t in tenants if t != own)
        names = None if provider_names is None else provider_names.get(own.name, {})
        for identity in cluster.identities_of(own):
            context = Context(identity, own, other)
            for row in rows:
                if names is not None and "action" in row and row["attempt"] not in names:
                    continue
                name = "" if names is None else names.get(row["attempt"], "")
                questions.append(Question(attempt_probe(context, row, name), identity, Cell.DENIED, "attempt"))
    return questions


def observe_attempts(
    tenancy: ProvisionedTenancy,
    cluster: ProvisionedCluster,
    rows: Sequence[Mapping[str, str]],
    provider_onboarding: bool = False,
    covering: Covering | None = None,
) -> AccessRun:
    """Discover the API as the cluster admin (and with `provider_onboarding`, i.e. `onboarding: existing`,
    read each tenant's fences for the provider's object names), then ask every attempt question three
    ways (reach.observe: past `covering.every_cell_tenants` tenants the access reviews of a seeded
    subset only). Raises kube.ApiFailure when the admin's reads fail."""
    admin = tenancy.admin_client(cluster)
    try:
        resources = discover(admin)
        names = (
            {t.name: provider_object_names(read_fences(admin, t.namespace)) for t in cluster.tenants}
            if provider_onboarding
            else None
        )
    finally:
        admin.close()
    return observe(tenancy, cluster, attempt_questions(cluster, resources, rows, names), covering)
