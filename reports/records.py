"""Canonical result records: one per check, product (and plan), read from a run's results.

Statuses follow Sonobuoy's result tree: any failing scenario fails the check,
an erroring one makes it ERROR, and a check with no result is UNKNOWN — never a pass.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"  # not applicable to this product
    UNKNOWN = "unknown"  # no result at all


_ALLURE_STATUS = {
    "passed": Status.PASS,
    "failed": Status.FAIL,
    "broken": Status.ERROR,
    "skipped": Status.SKIPPED,
    "unknown": Status.UNKNOWN,
}
_SEVERITY = (Status.FAIL, Status.ERROR, Status.UNKNOWN, Status.PASS, Status.SKIPPED)


def scenario_status(allure_status: str, message: str) -> Status:
    """A scenario's status from its Allure result's status and statusDetails message.

    The targets file's expected failures run as pytest xfails (`fixtures.expectations`), which
    allure-pytest-bdd 2.16 writes as "skipped" with a message "XFAIL <reason>...": the check failed, as
    expected (FAIL). A strict xpass, a pass where the file expects a failure, it writes as "broken" with
    "[XPASS(strict)] <reason>": the check passed (PASS), so the stale expectation is not met. A
    pytest-timeout ("failed", "Failed: Timeout (>900.0s) from pytest-timeout.") observed nothing: ERROR.
    This is the one mapping of outcomes to statuses: `fixtures.expectations.phase_status` puts pytest's
    reports as allure-pytest-bdd writes them and maps them here.
    """
    status = _ALLURE_STATUS.get(allure_status, Status.UNKNOWN)
    if status is Status.SKIPPED and message.startswith("XFAIL"):
        return Status.FAIL
    if status is Status.ERROR and message.startswith("[XPASS(strict)]"):
        return Status.PASS
    if status is Status.FAIL and message.startswith("Failed: Timeout"):
        return Status.ERROR
    return status


_TENANCY_TAGS = ("shared_cluster", "dedicated_cluster")
# where a record's `decided_by` comes from (`CheckRecord.layers_source`): read in the observed cells its
# verdict compared (evidence), attributed from its area because they named none (a default), or nothing
# because no verdict was reached (ERROR, n/a, unknown) or none names a layer (checks.decided); or not known,
# for a run made before the suite told the two apart (its `layer` labels held both)
OBSERVED, AREA, UNKNOWN_SOURCE = "observed", "area", "unknown"
DECIDED_BY_SOURCES = (OBSERVED, AREA, UNKNOWN_SOURCE, "")
IDENTITY_LABEL = "credential"  # checks.rbac.credentials.CREDENTIAL_LABEL: "real" or "impersonated"
MIXED = "mixed"  # a check some of whose scenarios observed with real credentials, some impersonated
IDENTITY_KINDS = ("real", "impersonated", MIXED)
MESSAGE_CHARS = 16000  # a failure message kept whole enough to name its first mismatched cell


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario's outcome on one product, as the Allure adapter wrote it."""

    check: str
    product: str
    name: str
    status: Status
    message: str = ""
    uuid: str = ""
    duration_ms: int = 0
    area: str = ""  # the epic label: network, rbac, privileged, storage...
    tenancy: tuple[str, ...] = ()  # shared_cluster and/or dedicated_cluster: of the tenants it judged
    plan: str = ""  # the `plan` label, where a scenario sets one
    layer: str = ""  # which layer decided (the `layer` label), e.g. "NetworkPolicy", "RBAC", "admission"
    start_ms: int = 0
    evidence: tuple[str, ...] = ()  # attachment files of the result, relative to the results directory
    history_id: str = ""
    plans: tuple[str, ...] = ()  # every `plan` label (a scenario may judge several plans)
    layers: tuple[str, ...] = ()  # every `layer` label: read in the observed cells a verdict compared
    area_layers: tuple[str, ...] = ()  # every `area_layer` label: the area's, for verdicts whose cells named none
    figures: tuple[str, ...] = ()  # every `figure` label: a measurement the verdict rests on, with its unit
    identity: str = ""  # the `credential` label: "real" or "impersonated" ("" when it observed nothing)
    # False for a result of a run made before `area_layer` existed (`read_allure_results`): its `layer`
    # labels may be observed layers or the area's, nobody can tell which
    layer_source_known: bool = True


@dataclass(frozen=True)
class CheckRecord:
    """The verdict of one check on one product, with what led to it."""

    check: str
    product: str
    status: Status
    scenarios: tuple[ScenarioResult, ...] = ()
    expected: Status | None = None  # from the targets file's expectations
    reason: str = ""
    area: str = ""
    report_links: Mapping[str, str] = field(default_factory=dict)  # scenario uuid -> Allure report test id

    @property
    def tenancy(self) -> tuple[str, ...]:
        return tuple(sorted({t for s in self.scenarios for t in s.tenancy}))

    @property
    def plans(self) -> tuple[str, ...]:
        return tuple(sorted({p for s in self.scenarios for p in (s.plan, *s.plans) if p}))

    @property
    def deciding(self) -> tuple[ScenarioResult, ...]:
        """The scenarios that reached the record's verdict: those whose status is the record's, when it
        is PASS or FAIL (an ERROR, n/a or unknown record was decided by no layer)."""
        if self.status not in (Status.PASS, Status.FAIL):
            return ()
        return tuple(s for s in self.scenarios if s.status is self.status)

    @property
    def observed_layers(self) -> tuple[str, ...]:
        """The layers read in the observed cells of the verdicts that decided the record (sorted)."""
        return tuple(sorted({x for s in self.deciding for x in (s.layer, *s.layers) if x}))

    @property
    def layers(self) -> tuple[str, ...]:
        """The report's `decided_by`: the observed layers (`observed_layers`) if any, else the area's layers
        attributed to the deciding verdicts, whose cells named none; () for a record no verdict decided."""
        return self.observed_layers or tuple(sorted({x for s in self.deciding for x in s.area_layers}))

    @property
    def layers_source(self) -> str:
        """The report's `decided_by_source` (DECIDED_BY_SOURCES): "observed" when `layers` were read in
        observed cells (evidence), "area" when they are the area's default, "unknown" when a deciding
        result comes from a run that did not record which (`ScenarioResult.layer_source_known`), "" when
        there are none."""
        if self.layers and not all(s.layer_source_known for s in self.deciding):
            return UNKNOWN_SOURCE
        if self.observed_layers:
            return OBSERVED
        return AREA if self.layers else ""

    @property
    def identity(self) -> str:
        """Whose credentials observed the check (IDENTITY_KINDS): `real` when every scenario that observed
        anything used the tenant identities' own credentials, `impersonated` when every one used the
        admin impersonating them, `mixed` when both; "" when no scenario observed anything."""
        kinds = {s.identity for s in self.scenarios if s.identity}
        if len(kinds) > 1:
            return MIXED
        return kinds.pop() if kinds else ""

    @property
    def figures(self) -> tuple[str, ...]:
        """What the scenarios measured, e.g. "time to enforce: median 2.6 s, worst 2.9 s over 6 changes"."""
        return tuple(dict.fromkeys(f for s in self.scenarios for f in s.figures))

    @property
    def duration_ms(self) -> int:
        return sum(s.duration_ms for s in self.scenarios)

    @property
    def evidence(self) -> tuple[str, ...]:
        return tuple(e for s in self.scenarios for e in s.evidence)

    @property
    def decisive(self) -> ScenarioResult | None:
        """The scenario that set the record's status (the most severe one), if any ran."""
        ranked = sorted(self.scenarios, key=lambda s: _SEVERITY.index(s.status))
        return ranked[0] if ranked else None

    def report_link(self) -> str:
        """The Allure report's test id of the decisive scenario ("" when the report does not have it)."""
        decisive = self.decisive
        return self.report_links.get(decisive.uuid, "") if decisive else ""

    @property
    def meets_expectation(self) -> bool:
        if self.status in (Status.ERROR, Status.UNKNOWN):
            return False
        if self.expected is not None:
            return self.status is self.expected
        return self.status in (Status.PASS, Status.SKIPPED)


@dataclass(frozen=True)
class RunRecords:
    products: tuple[str, ...]
    checks: tuple[str, ...]
    records: Mapping[tuple[str, str], CheckRecord] = field(default_factory=dict)

    def record(self, check: str, product: str) -> CheckRecord:
        return self.records.get((check, product), CheckRecord(check, product, Status.UNKNOWN))

    def differences(self) -> list[str]:
        """Checks whose status differs between products."""
        return [c for c in self.checks if len({self.record(c, p).status for p in self.products}) > 1]

    def area_of(self, check: str) -> str:
        for product in self.products:
            if area := self.record(check, product).area:
                return area
        return "other"

    def by_area(self) -> list[tuple[str, list[str]]]:
        """Checks grouped by area (areas sorted, checks in their order)."""
        groups: dict[str, list[str]] = {}
        for check in self.checks:
            groups.setdefault(self.area_of(check), []).append(check)
        return sorted(groups.items())

    def with_report_links(self, links: Mapping[str, str]) -> RunRecords:
        """These records with each scenario's Allure report test id (scenario uuid -> report id)."""
        records = {
            key: replace(r, report_links={s.uuid: links[s.uuid] for s in r.scenarios if s.uuid in links})
            for key, r in self.records.items()
        }
        return replace(self, records=records)


def decided_by_text(layers: Iterable[str], source: str) -> str:
    """One line for the renderers: the deciding layers and where they come from, e.g. "authorizer
    (observed in the compared cells)", "NetworkPolicy dataplane (the area's: no compared cell named a
    layer)", "RBAC (source not recorded: ...)" for a run made before the two were told apart, or "none
    recorded (no verdict reached, or none names a layer)"."""
    text = ", ".join(layers)
    if not text:
        return "none recorded (no verdict reached, or none names a layer)"
    if source == OBSERVED:
        return f"{text} (observed in the compared cells)"
    if source == UNKNOWN_SOURCE:
        return f"{text} (source not recorded: the run predates telling observed layers from the area's)"
    return f"{text} (the area's: no compared cell named a layer)"


def _clip(message: str) -> str:
    """A failure message of at most MESSAGE_CHARS: its head and its tail, where a matrix comparison lists
    its mismatched cells (`checks.matrix.Comparison.render`)."""
    if len(message) <= MESSAGE_CHARS:
        return message
    head = MESSAGE_CHARS // 4
    return message[:head] + "\n…\n" + message[-(MESSAGE_CHARS - head) :]


def _attachments(node: Mapping[str, Any]) -> list[str]:
    found = [str(a["source"]) for a in node.get("attachments", []) if "source" in a]
    for step in node.get("steps", []):
        found += _attachments(step)
    return found


class ResultFileError(ValueError):
    """A `*-result.json` of allure-results that is no readable Allure result: truncated, not JSON or
    of the wrong shape. Never skipped: it may hold the one failing scenario of its check, and a check
    without it could read as a pass. `path` is the file, `problem` what is wrong with it."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def _read_result(path: Path) -> dict[str, Any]:
    """One result file as a mapping; raises ResultFileError when it is not a readable Allure result."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultFileError(path, f"cannot be read ({exc.__class__.__name__})") from None
    if not text.strip():
        raise ResultFileError(path, "is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise ResultFileError(path, f"is truncated (its JSON breaks off after {len(text)} bytes)") from None
        raise ResultFileError(path, f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    problem = _result_shape_problem(data)
    if problem:
        raise ResultFileError(path, f"is not an Allure result ({problem})")
    return data  # type: ignore[no-any-return]


def _result_shape_problem(data: Any) -> str:
    """What keeps `data` from being read as an Allure result ("" when nothing does)."""
    if not isinstance(data, dict):
        return "expected a JSON object"
    labels = data.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, dict) and {"name", "value"} <= x.keys() for x in labels):
        return "labels is not a list of name/value objects"
    for key in ("start", "stop"):
        if isinstance(data.get(key, 0), bool) or not isinstance(data.get(key, 0), int):
            return f"{key} is not a whole number of milliseconds"
    if not isinstance(data.get("statusDetails") or {}, dict):
        return "statusDetails is not an object"
    return _steps_shape_problem(data)


def _steps_shape_problem(node: Mapping[str, Any]) -> str:
    for key in ("attachments", "steps"):
        items = node.get(key, [])
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            return f"{key} is not a list of objects"
    for step in node.get("steps", []):
        if problem := _steps_shape_problem(step):
            return problem
    return ""


def read_allure_results(directory: Path) -> list[ScenarioResult]:
    """The scenario results of an allure-results directory that carry `check` and `product` labels.

    A run none of whose results carries an `area_layer` or a `tenancy` label (both came with
    `checks.decided`'s split of observed layers from the area's) was made before: its `layer` labels held
    both, so every result's `layer_source_known` is False (the report's `decided_by_source` "unknown").
    A newer run labels `tenancy` on every scenario that judged a tenant, so one whose verdicts all
    observed their layers is still told apart.

    Raises ResultFileError for the first result file (in name order) that cannot be read as a result.
    """
    results = []
    recorded_sources = False
    for path in sorted(directory.glob("*-result.json")):
        data = _read_result(path)
        labels: dict[str, str] = {}
        tags: set[str] = set()
        every: dict[str, list[str]] = {"plan": [], "layer": [], "area_layer": [], "figure": [], "tenancy": []}
        for label in data.get("labels", []):
            labels.setdefault(label["name"], label["value"])
            if label["name"] == "tag":
                tags.add(str(label["value"]))
            if label["name"] in every:
                every[label["name"]].append(str(label["value"]))
        recorded_sources = recorded_sources or bool(every["area_layer"] or every["tenancy"])
        if "check" not in labels or "product" not in labels:
            continue
        details = data.get("statusDetails") or {}
        results.append(
            ScenarioResult(
                check=labels["check"],
                product=labels["product"],
                name=str(data.get("name", "")),
                status=scenario_status(str(data.get("status")), str(details.get("message", ""))),
                message=_clip(str(details.get("message", ""))),
                uuid=str(data.get("uuid", "")),
                # a scenario skipped before its first step has a start and no stop: it took no time
                duration_ms=int(data["stop"]) - int(data["start"]) if "stop" in data and "start" in data else 0,
                area=labels.get("epic", ""),
                # the placements of the tenants it judged (checks.decided), else its feature's placement tags
                tenancy=tuple(sorted(set(every["tenancy"]))) or tuple(t for t in _TENANCY_TAGS if t in tags),
                plan=labels.get("plan", ""),
                layer=labels.get("layer", ""),
                start_ms=int(data.get("start", 0)),
                evidence=tuple(_attachments(data)),
                history_id=str(data.get("historyId", "")),
                plans=tuple(dict.fromkeys(every["plan"])),
                layers=tuple(dict.fromkeys(every["layer"])),
                area_layers=tuple(dict.fromkeys(every["area_layer"])),
                figures=tuple(dict.fromkeys(every["figure"])),
                identity=labels.get(IDENTITY_LABEL, ""),
            )
        )
    if results and not recorded_sources:
        return [replace(r, layer_source_known=False) for r in results]
    return results


def aggregate(
    results: Iterable[ScenarioResult],
    products: Iterable[str],
    checks: Iterable[str],
    expectations: Mapping[tuple[str, str], tuple[Status, str]] | None = None,
    areas: Mapping[str, str] | None = None,
) -> RunRecords:
    """Fold scenario results into one record per check and product; missing ones are UNKNOWN."""
    by_key: dict[tuple[str, str], list[ScenarioResult]] = {}
    for result in results:
        by_key.setdefault((result.check, result.product), []).append(result)
    product_list = tuple(products)
    check_list = tuple(sorted(set(checks) | {k[0] for k in by_key}))
    expectations = expectations or {}
    records = {}
    for check in check_list:
        for product in product_list:
            scenarios = tuple(by_key.get((check, product), ()))
            status = Status.UNKNOWN
            if scenarios:
                statuses = {s.status for s in scenarios}
                status = next(s for s in _SEVERITY if s in statuses)
            expected, reason = expectations.get((check, product), (None, ""))
            area = next((s.area for s in scenarios if s.area), (areas or {}).get(check, ""))
            records[(check, product)] = CheckRecord(check, product, status, scenarios, expected, reason, area)
    return RunRecords(product_list, check_list, records)
