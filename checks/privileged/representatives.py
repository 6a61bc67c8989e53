"""One tenant observed per plan and cluster; the others' fences read back and compared with its (pure).

The Pod Security case matrix (checks/privileged/cases.py) creates about 50 pods per observed tenant. Its
verdict depends on the tenant's plan and on what enforces it on the tenant's cluster, not on the tenant: the
namespace's Pod Security Admission labels (`pod-security.kubernetes.io/enforce` and `enforce-version`, set
by onboarding from the plan: provisioning/model/onboarding.py) and cluster-wide settings shared by every
tenant of the cluster (the API server's `--allow-privileged`, its admission configuration, the nodes). So the
matrix is asked once per (plan, cluster), of a `representative` (the first tenant of the group by name), and
every other tenant of the group is covered by its verdict only where its fence reads back the same:
`fence_differences` names each field that differs (a FAIL: that tenant is not covered), a read that errors
is ERROR.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from provisioning.model.fences import ENFORCE
from provisioning.model.tenancy import Tenant

# the labels by which Pod Security Admission enforces a namespace's level (warn and audit only report)
FENCE_LABELS = (ENFORCE, f"{ENFORCE}-version")
ABSENT = "(absent)"


@dataclass(frozen=True)
class Group:
    """The tenants of one plan on one cluster: the `representative` observed, the `covered` read back."""

    plan: str
    cluster: str
    representative: Tenant
    covered: tuple[Tenant, ...] = ()


def groups(tenants: Iterable[Tenant], cluster_of: Callable[[Tenant], str]) -> list[Group]:
    """The tenants grouped by (plan, cluster name from `cluster_of`), in order of each group's first tenant
    by name; each group's representative is its first tenant by name (deterministic, whatever the order of
    the targets file), the others are covered, by name."""
    by_key: dict[tuple[str, str], list[Tenant]] = {}
    for tenant in sorted(tenants, key=lambda t: t.name):
        by_key.setdefault((tenant.plan, cluster_of(tenant)), []).append(tenant)
    return [Group(plan, cluster, members[0], tuple(members[1:])) for (plan, cluster), members in by_key.items()]


def fence(labels: Mapping[str, str] | None) -> dict[str, str]:
    """The enforcing Pod Security labels of a namespace's `labels` (None: a namespace without labels), each
    of `FENCE_LABELS` present or `ABSENT`."""
    labels = labels or {}
    return {key: labels.get(key, ABSENT) for key in FENCE_LABELS}


def fence_differences(representative: Mapping[str, str], tenant: Mapping[str, str]) -> list[str]:
    """One line per label where a tenant's fence differs from its representative's, e.g.
    `pod-security.kubernetes.io/enforce: representative restricted, tenant (absent)`; empty when the same."""
    return [
        f"{key}: representative {representative.get(key, ABSENT)}, tenant {tenant.get(key, ABSENT)}"
        for key in sorted(set(representative) | set(tenant))
        if representative.get(key, ABSENT) != tenant.get(key, ABSENT)
    ]


@dataclass(frozen=True)
class ReadBack:
    """A covered tenant's fence compared with its representative's: the `differences` (none: covered by
    the representative's verdict) or the `error` that kept it from being read (then it is not covered)."""

    tenant: str
    plan: str
    cluster: str
    representative: str
    differences: tuple[str, ...] = ()
    error: str = ""

    @property
    def covered(self) -> bool:
        return not self.error and not self.differences

    def describe(self) -> str:
        """One line: the tenant, its representative and what the read-back found."""
        head = f"{self.tenant} (plan {self.plan} on {self.cluster}), represented by {self.representative}"
        if self.error:
            return f"{head}: fence not read ({self.error})"
        if self.differences:
            return f"{head}: fence differs: {'; '.join(self.differences)}"
        return f"{head}: same fence ({', '.join(FENCE_LABELS)})"


def read_back(group: Group, tenant: Tenant, fences: Mapping[str, Mapping[str, str] | str]) -> ReadBack:
    """`tenant`'s read-back from `fences` (tenant name -> its fence, or the error text of its read); an
    error on either side is the read-back's error."""
    mine, theirs = fences[tenant.name], fences[group.representative.name]
    where = (tenant.name, group.plan, group.cluster, group.representative.name)
    if isinstance(theirs, str):
        return ReadBack(*where, error=f"representative's fence not read: {theirs}")
    if isinstance(mine, str):
        return ReadBack(*where, error=mine)
    return ReadBack(*where, differences=tuple(fence_differences(theirs, mine)))


def read_backs(found: Sequence[Group], fences: Mapping[str, Mapping[str, str] | str]) -> list[ReadBack]:
    """Every covered tenant's read-back, group by group."""
    return [read_back(group, tenant, fences) for group in found for tenant in group.covered]
