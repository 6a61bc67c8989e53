"""Canonical result records: one per check, product (and plan), read from a run's results.

Statuses follow Sonobuoy's result tree: any failing scenario fails the check,
an erroring one makes it ERROR, and a check with no result is UNKNOWN — never a pass.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


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


@dataclass(frozen=True)
class CheckRecord:
    """The verdict of one check on one product, with what led to it."""

    check: str
    product: str
    status: Status
    scenarios: tuple[ScenarioResult, ...] = ()
    expected: Status | None = None  # from the targets file's expectations
    reason: str = ""

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


def read_allure_results(directory: Path) -> list[ScenarioResult]:
    results = []
    for path in sorted(directory.glob("*-result.json")):
        data = json.loads(path.read_text())
        labels: dict[str, str] = {}
        for label in data.get("labels", []):
            labels.setdefault(label["name"], label["value"])
        if "check" not in labels or "product" not in labels:
            continue
        details = data.get("statusDetails") or {}
        results.append(
            ScenarioResult(
                check=labels["check"],
                product=labels["product"],
                name=str(data.get("name", "")),
                status=_ALLURE_STATUS.get(str(data.get("status")), Status.UNKNOWN),
                message=str(details.get("message", ""))[:2000],
                uuid=str(data.get("uuid", "")),
                duration_ms=int(data.get("stop", 0)) - int(data.get("start", 0)),
            )
        )
    return results


def aggregate(
    results: Iterable[ScenarioResult],
    products: Iterable[str],
    checks: Iterable[str],
    expectations: Mapping[tuple[str, str], tuple[Status, str]] | None = None,
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
            records[(check, product)] = CheckRecord(check, product, status, scenarios, expected, reason)
    return RunRecords(product_list, check_list, records)
