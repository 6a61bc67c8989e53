"""The targets file: which products to test, how to reach them, and the tenancy to provision.

`load_targets(path)` parses and validates the whole file up front and returns a
`Targets` object (the parsed file plus the pure `TenancyModel`). Every problem
becomes one line that names the file, the field path and the fix, e.g.

    targets.yaml: products[1].backend: unknown backend "pks2" (one of: lab, kubeconfig, pks, bosh, osb)

Secrets are never written inline: the file names environment variables or files.

This module knows the generic fields of a product; each backend's section (`pks:`, ...) is specified
beside its backend (provisioning.backends.specs), and a product must have the section its `backend`
names, unless that section's spec is not `required`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, Field, ValidationError, field_validator

from harness.errors import ConfigError, ConfigErrors
from harness.targets_broker import BrokerSpec, broker_problems
from harness.targets_files import file_problems
from harness.targets_names import derived_name_problems
from harness.targets_onboarding import ONBOARDINGS, Namespace, onboarding_problems
from harness.targets_ranges import range_fix
from harness.targets_references import expectation_problems, kubeconfig_key_problems
from provisioning.backends.proxy_spec import ProxySpec
from provisioning.backends.specs import BACKENDS, SECTION_SPECS, BackendSections
from provisioning.fields import DnsName, Spec, one_of
from provisioning.images.spec import ImagesSections, ImagesSpec
from provisioning.lab.layout import MAX_WORKERS
from provisioning.model.tenancy import (
    SERVICE_TYPES,
    AuthorizationMode,
    Placement,
    Plan,
    PodSecurityLevel,
    Product,
    Quota,
    TenancyModel,
    Tenant,
)

EXPECTED_STATUSES = ("pass", "fail")

_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i?|[munkMGTPE])?$")
_COUNTED = re.compile(
    r"^(pods|services|secrets|configmaps|persistentvolumeclaims|replicationcontrollers|"
    r"resourcequotas|services\.nodeports|services\.loadbalancers)$|^count/|/persistentvolumeclaims$"
)
_SECRET_WORDS = ("password", "token", "secret", "key", "credential")
_QUOTA_RESOURCES = re.compile(
    r"^(requests\.|limits\.)?(cpu|memory|storage|ephemeral-storage)$|^(pods|services|secrets|configmaps|"
    r"persistentvolumeclaims|replicationcontrollers|resourcequotas|services\.nodeports|services\.loadbalancers)$|"
    r"^count/[a-z0-9.-]+$|^[a-z0-9.-]+\.storageclass\.storage\.k8s\.io/(requests\.storage|persistentvolumeclaims)$"
)


def _quantity(value: Any) -> str:
    text = str(value)
    if not _QUANTITY.match(text):
        raise ValueError(f'"{text}" is not a Kubernetes quantity (write e.g. "500m", "2", "4Gi")')
    if text.startswith("-"):
        raise ValueError(f'negative quantity "{text}" (quotas and limits must be zero or more)')
    return text


Backend = Annotated[str, AfterValidator(one_of("backend", BACKENDS))]
PodSecurity = Annotated[str, AfterValidator(one_of("pod-security level", [lv.value for lv in PodSecurityLevel]))]
Authorization = Annotated[str, AfterValidator(one_of("authorization mode", [m.value for m in AuthorizationMode]))]
PlacementName = Annotated[str, AfterValidator(one_of("placement", [p.value for p in Placement]))]
ExpectedStatus = Annotated[str, AfterValidator(one_of("status", EXPECTED_STATUSES))]
ServiceType = Annotated[str, AfterValidator(one_of("Service type", SERVICE_TYPES))]


class QuotaSpec(Spec):
    hard: dict[str, str] = Field(default_factory=dict)
    default_limits: dict[str, str] = Field(default_factory=dict)
    default_requests: dict[str, str] = Field(default_factory=dict)

    @field_validator("hard", "default_limits", "default_requests", mode="before")
    @classmethod
    def _quantities(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("expected a mapping of resource name to quantity")
        return {str(k): _quantity(v) for k, v in value.items()}

    @field_validator("hard")
    @classmethod
    def _resource_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, quantity in value.items():
            if not _QUOTA_RESOURCES.match(name):
                raise ValueError(f'unknown quota resource "{name}" (e.g. cpu, memory, pods, requests.storage)')
            if _COUNTED.match(name) and not quantity.isdigit():
                raise ValueError(f'quota {name} counts objects: "{quantity}" is not a whole number (write e.g. "10")')
        return value


class PlanSpec(Spec):
    name: DnsName
    workers: int = Field(1, ge=1, le=MAX_WORKERS)  # a dedicated cluster's worker nodes
    allow_privileged: bool = False
    pod_security: PodSecurity = "restricted"
    authorization: Authorization = "rbac"
    quota: QuotaSpec = QuotaSpec()
    control_plane_egress: bool = False
    datastore: str | None = Field(None, min_length=1)  # vSphere datastore that holds the plan's volumes
    # the Service types its tenants may create; ClusterIP always (default: every type, as Kubernetes allows)
    service_types: list[ServiceType] = Field(default_factory=lambda: list(SERVICE_TYPES))

    # cluster DNS answers its tenants the names of other tenants' services and pods (CoreDNS's default); a
    # product with per-tenant DNS views promises false (check_network_011)
    other_tenants_in_dns: bool = True
    # CIDRs its tenants may give Services as externalIPs, where the product offers ranges (check_network_008)
    external_ips: list[str] = Field(default_factory=list)

    @field_validator("external_ips")
    @classmethod
    def _cidrs(cls, cidrs: list[str]) -> list[str]:
        for cidr in cidrs:
            try:
                ipaddress.ip_network(cidr)
            except ValueError:
                raise ValueError(f'"{cidr}" is no CIDR (fix: write it as 203.0.113.0/28)') from None
        return cidrs

    @field_validator("service_types")
    @classmethod
    def _cluster_ip_always(cls, types: list[str]) -> list[str]:
        if "ClusterIP" not in types:
            raise ValueError("must include ClusterIP (fix: add ClusterIP; every tenant may create ClusterIP Services)")
        return types


ReadVerb = Annotated[str, AfterValidator(one_of("read verb", ("get", "list", "watch")))]


class PublicReadSpec(Spec):
    """A read the product documents as open to every authenticated user (e.g. kube-public's cluster-info)."""

    namespace: DnsName
    resource: str = Field(min_length=1)  # plural name from discovery, e.g. configmaps
    group: str = ""
    verbs: list[ReadVerb] = Field(min_length=1)
    # only these objects (resourceNames); none: every object of the resource
    names: list[str] = Field(default_factory=list)


class DataplaneSpec(Spec):
    """How the product's NetworkPolicy dataplane reads what the API leaves to it (product facts)."""

    # an ipBlock peer matches pod addresses too (kube-router, Calico, NSX-T); Cilium never matches pods with it
    ip_block_matches_pods: bool = True
    # how long a change to pods, labels or policies may take to be enforced (check_network_009); later fails
    enforce_within_seconds: float = Field(60.0, gt=0, le=3600)


class _ProductHead(Spec):
    name: DnsName
    backend: Backend
    plans: list[PlanSpec] = Field(min_length=1)
    # the product's own namespaces, besides kube-system and co.
    provider_namespaces: list[DnsName] = Field(default_factory=list)
    # reads the product documents as open to every tenant
    public_reads: list[PublicReadSpec] = Field(default_factory=list)
    non_resource_reads: list[str] | None = None  # paths (e.g. /version) tenants may GET; None: Kubernetes' default
    anonymous_reads: list[str] | None = None  # paths open without credentials; None: Kubernetes' default
    dataplane: DataplaneSpec = DataplaneSpec()


class ProductSpec(BackendSections, _ProductHead):
    """A product: the generic fields above, one section per backend (provisioning.backends.specs; the one
    named by `backend` is checked in _cross_check), then the fields below, validated in that order."""

    proxy: ProxySpec | None = None
    images: ImagesSpec | None = None  # none: the lab's images, preloaded on its nodes
    # tenant identities without credentials of their own (kubeconfig, pks, bosh) get client certificates
    # the cluster issues through its CSR API; false: only named credentials, or impersonation if allowed
    identities_via_csr: bool = True
    # suite: the suite onboards its tenants (the reference onboarding); existing: the provider did, and the
    # suite reads its fences from the tenants' `namespaces` (harness/targets_onboarding.py)
    onboarding: Annotated[str, AfterValidator(one_of("onboarding", ONBOARDINGS))] = "suite"
    broker: BrokerSpec | None = None  # the identity broker of tenants' own IdPs (harness/targets_broker.py)


class TenantSpec(Spec):
    name: DnsName
    plan: str
    placement: PlacementName = "shared"
    namespaces: list[Namespace] = Field(default_factory=list)  # onboarding: existing: the provider's, first: checks'


class TenancySpec(Spec):
    product: str
    tenants: list[TenantSpec] = Field(min_length=1)


class ExpectationSpec(Spec):
    product: str
    check: str
    status: ExpectedStatus
    reason: str = Field(min_length=1)


class TargetsSpec(Spec):
    version: int = Field(ge=1, le=1)
    products: list[ProductSpec] = Field(min_length=1)
    tenancy: list[TenancySpec] = Field(min_length=1)
    expectations: list[ExpectationSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class Targets:
    """A validated targets file: the parsed spec, where it came from, and the pure model."""

    source: Path
    spec: TargetsSpec
    model: TenancyModel

    def product_spec(self, name: str) -> ProductSpec:
        return next(p for p in self.spec.products if p.name == name)

    @property
    def images(self) -> ImagesSections:
        """Every product's `images` section, in the file's order (what provisioning.images reads)."""
        return ImagesSections(self.source, tuple((p.name, p.images) for p in self.spec.products))


def load_targets(path: str | os.PathLike[str], *, check_files: bool = True) -> Targets:
    """Read, parse and validate a targets file; raise ConfigErrors naming every problem.

    `check_files=False` leaves out the files the targets file names (kubeconfigs, manifests, CA files):
    for reading a run's copy of its targets, whose products and expectations are all that is used.
    """
    source = Path(path)
    label = str(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(label, "", "file not found (pass the path of a targets file, e.g. targets.yaml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            label, "", f"cannot read the file ({exc.__class__.__name__}): check its permissions"
        ) from None
    return parse_targets(text, label, base_dir=source.parent, check_files=check_files)


def parse_targets(text: str, label: str, base_dir: Path, *, check_files: bool = True) -> Targets:
    """Validate targets given as text; `label` names the source in error lines.

    Besides the fields themselves this refuses what a run would refuse later: names derived from
    product and tenant names (`targets_names`), references to checks, tenants and identities
    (`targets_references`) and, with `check_files`, the files it names (`targets_files`).
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError(label, where, f"YAML syntax error: {exc.problem} (fix the syntax there)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(label, "", f"YAML error: {exc} (fix the syntax)") from None
    if raw is None:
        raise ConfigError(label, "", "the file is empty (start from the documented example targets.yaml)")
    if not isinstance(raw, dict):
        raise ConfigError(label, "", "expected a mapping with version, products and tenancy at the top level")
    try:
        spec = TargetsSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigErrors([_explain(label, err) for err in exc.errors()]) from None
    model = _to_model(spec)
    errors = list(_cross_check(spec, label))
    errors += expectation_problems(spec, label)
    errors += onboarding_problems(spec, label)
    errors += broker_problems(spec, label)
    errors += kubeconfig_key_problems(spec, label)
    errors += derived_name_problems(spec, model, label)
    if check_files:
        errors += file_problems(spec, label, base_dir)
    if errors:
        raise ConfigErrors(errors)
    return Targets(source=base_dir / Path(label).name, spec=spec, model=model)


def _path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _explain(label: str, err: Any) -> ConfigError:
    loc = tuple(err["loc"])
    kind = err["type"]
    field = str(loc[-1]) if loc else ""
    given = err.get("input")
    if kind == "missing":
        message = "required field is missing (add it; see the example targets.yaml)"
    elif kind == "extra_forbidden":
        if any(word in field.lower() for word in _SECRET_WORDS):
            message = f'secrets are never written inline (name an environment variable instead, e.g. "{field}_env")'
        else:
            message = "unknown field (remove it or check its spelling against the example targets.yaml)"
    elif kind == "value_error":
        message = str(err["msg"]).removeprefix("Value error, ")
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        message = f"expected a whole number, got {given!r} (write e.g. 2)"
    elif kind in ("bool_type", "bool_parsing"):
        message = f"expected true or false, got {given!r}"
    elif kind in ("string_type",):
        message = f"expected text, got {given!r} (quote the value)"
    elif kind in ("list_type",):
        message = "expected a list (write each item on its own line starting with -)"
    elif kind in ("model_type", "dict_type"):
        message = "expected a mapping of fields (key: value lines)"
    elif kind in ("too_short",):
        message = "must not be empty (add at least one item)"
    elif kind in ("float_type", "float_parsing"):
        message = f"expected a number, got {given!r} (write e.g. 30)"
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        fix = range_fix(TargetsSpec, loc, err.get("ctx", {}))
        message = f"{given!r} is out of range: {err['msg'].lower()} (fix: {fix})"
    else:
        message = f"{err['msg']} (got {given!r})"
    return ConfigError(label, _path(loc), message)


def _cross_check(spec: TargetsSpec, label: str) -> Iterable[ConfigError]:
    products: dict[str, ProductSpec] = {}
    for i, product in enumerate(spec.products):
        where = f"products[{i}]"
        if product.name in products:
            yield ConfigError(label, f"{where}.name", f'duplicate product "{product.name}" (names must be unique)')
        products[product.name] = product
        if product.section(product.backend) is None and SECTION_SPECS[product.backend].required:
            yield ConfigError(
                label, f"{where}.{product.backend}", f'backend "{product.backend}" needs a "{product.backend}:" section'
            )
        for other in BACKENDS:
            if other != product.backend and product.section(other) is not None:
                yield ConfigError(
                    label, f"{where}.{other}", f'section "{other}" does not fit backend "{product.backend}" (remove it)'
                )
        plan_names: set[str] = set()
        for j, plan in enumerate(product.plans):
            if plan.name in plan_names:
                yield ConfigError(label, f"{where}.plans[{j}].name", f'duplicate plan "{plan.name}"')
            plan_names.add(plan.name)
            if plan.allow_privileged and plan.pod_security != "privileged":
                yield ConfigError(
                    label,
                    f"{where}.plans[{j}].pod_security",
                    f'plan allows privileged pods but pod_security is "{plan.pod_security}" (set it to privileged)',
                )
        for name in BACKENDS:
            if (present := product.section(name)) is not None:
                yield from present.problems(label, f"{where}.{name}")
    tenant_names: dict[tuple[str, str], str] = {}
    for i, tenancy in enumerate(spec.tenancy):
        where = f"tenancy[{i}]"
        offering = products.get(tenancy.product)
        if offering is None:
            known = ", ".join(products)
            yield ConfigError(label, f"{where}.product", f'unknown product "{tenancy.product}" (one of: {known})')
            continue
        for j, tenant in enumerate(tenancy.tenants):
            twhere = f"{where}.tenants[{j}]"
            key = (tenancy.product, tenant.name)
            if key in tenant_names:
                yield ConfigError(
                    label, f"{twhere}.name", f'duplicate tenant "{tenant.name}" (already at {tenant_names[key]})'
                )
            tenant_names[key] = twhere
            plans = [p.name for p in offering.plans]
            if tenant.plan not in plans:
                yield ConfigError(
                    label,
                    f"{twhere}.plan",
                    f'unknown plan "{tenant.plan}" for product "{offering.name}" (one of: {", ".join(plans)})',
                )
            if (section := offering.section(offering.backend)) is not None:
                yield from section.tenant_problems(label, twhere, tenant.name, tenant.placement)
    for i, expectation in enumerate(spec.expectations):
        if expectation.product not in products:
            yield ConfigError(
                label,
                f"expectations[{i}].product",
                f'unknown product "{expectation.product}" (one of: {", ".join(products)})',
            )


def _to_model(spec: TargetsSpec) -> TenancyModel:
    products = tuple(
        Product(
            name=p.name,
            backend=p.backend,
            plans=tuple(
                Plan(
                    name=plan.name,
                    workers=plan.workers,
                    allow_privileged=plan.allow_privileged,
                    pod_security=PodSecurityLevel(plan.pod_security),
                    authorization=AuthorizationMode(plan.authorization),
                    quota=Quota(
                        hard=dict(plan.quota.hard),
                        default_limits=dict(plan.quota.default_limits),
                        default_requests=dict(plan.quota.default_requests),
                    ),
                    control_plane_egress=plan.control_plane_egress,
                    datastore=plan.datastore or "",
                    service_types=tuple(dict.fromkeys(plan.service_types)),
                    external_ips=tuple(plan.external_ips),
                )
                for plan in p.plans
            ),
        )
        for p in spec.products
    )
    tenants: dict[str, tuple[Tenant, ...]] = {}
    for tenancy in spec.tenancy:
        tenants[tenancy.product] = tenants.get(tenancy.product, ()) + tuple(
            Tenant(name=t.name, plan=t.plan, placement=Placement(t.placement), namespaces=tuple(t.namespaces))
            for t in tenancy.tenants
        )
    return TenancyModel(products=products, tenants=tenants)
