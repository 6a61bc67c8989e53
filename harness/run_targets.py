"""A run's own copy of its targets (`RUN_DIR/targets.yaml`), so that its reports can be rebuilt as it ran.

`caas run` writes it with `save_run_targets` right after the settings are built: the targets file as
written, reduced to the products the run selected (their tenancy and expectations), relative paths
made absolute, `bosh.vars` values and anything that looks like a secret redacted. A targets file holds
no secrets by design (it names environment variables); the copy is redacted anyway because it lands
in an artifact folder that people share.

`caas report` reads it with `load_run_targets` and compares any other targets file given to it with
`differences`: a report must show the expectations the run was judged by, never another file's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from harness import redaction
from harness.targets import Targets, load_targets
from provisioning.backends.specs import SECTION_SPECS

RUN_TARGETS = "targets.yaml"


def save_run_targets(run_dir: Path, targets: Targets, products: Iterable[str] = ()) -> Path:
    """Write `run_dir/targets.yaml` (mode 0600): the run's products (all when `products` is empty)."""
    chosen = set(products) or {p.name for p in targets.spec.products}
    document = targets.spec.model_dump(mode="json", exclude_unset=True)
    document["products"] = [_absolute(p, targets.source.parent) for p in document["products"] if p["name"] in chosen]
    document["tenancy"] = [t for t in document["tenancy"] if t["product"] in chosen]
    if "expectations" in document:
        document["expectations"] = [e for e in document["expectations"] if e["product"] in chosen]
    header = (
        f"# The targets of this run, copied from {targets.source.resolve()} by caas run for `caas report`:\n"
        f"# only the products it ran ({', '.join(sorted(chosen))}); bosh vars values are redacted.\n"
    )
    text = redaction.redact(header + yaml.safe_dump(document, sort_keys=False))
    path = run_dir / RUN_TARGETS
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _absolute(product: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """The product's file paths made absolute (the copy lives elsewhere) and its secret values redacted
    (each backend section's `path_fields` and `redacted_fields`)."""

    def resolved(path: str) -> str:
        return str((base_dir / Path(path).expanduser()).resolve())

    for name, spec in SECTION_SPECS.items():
        section = product.get(name)
        if not isinstance(section, dict):
            continue
        for field in spec.path_fields:
            value = section.get(field)
            if isinstance(value, str) and value:
                section[field] = resolved(value)
            elif isinstance(value, list):
                section[field] = [resolved(v) for v in value]
        for field in spec.redacted_fields:
            if isinstance(section.get(field), dict):
                section[field] = dict.fromkeys(section[field], redaction.MARKER)
    return product


def load_run_targets(run_dir: Path) -> Targets | None:
    """The run's copy of its targets, or None for a run that has none (written before copies were kept).

    The files it names are not checked: a report reads only the products and expectations. Raises
    ConfigErrors when the copy does not validate (then the run folder is damaged).
    """
    path = run_dir / RUN_TARGETS
    if not path.is_file():
        return None
    return load_targets(path, check_files=False)


def expectations_of(targets: Targets, products: Iterable[str]) -> dict[tuple[str, str], tuple[str, str]]:
    """(check, product) -> (status, reason) of the targets' expectations on `products`."""
    chosen = set(products)
    return {(e.check, e.product): (e.status, e.reason) for e in targets.spec.expectations if e.product in chosen}


def differences(
    run_products: Iterable[str],
    run_expectations: Mapping[tuple[str, str], tuple[str, str]],
    given: Targets,
    checks: Iterable[str] | None = None,
) -> Iterator[str]:
    """How `given` differs from what the run recorded, one sentence each: a product of the run that
    `given` does not name, an expectation on a run product that one has and the other has not or
    states differently. With `checks`, only expectations of those checks count (what a report shows)."""
    products = list(run_products)
    named = {p.name for p in given.spec.products}
    for product in products:
        if product not in named:
            yield f'the run tested product "{product}", which this file does not name'
    theirs = expectations_of(given, products)
    shown = set(checks) if checks is not None else None
    for key in sorted(set(run_expectations) | set(theirs)):
        check, product = key
        if (shown is not None and check not in shown) or product not in named:
            continue  # not shown, or the product's absence is the difference
        ran, other = run_expectations.get(key), theirs.get(key)
        if ran == other:
            continue
        if other is None:
            yield f"the run expected {check} on {product} to {ran[0] if ran else '?'}; this file expects nothing"
        elif ran is None:
            yield f"this file expects {check} on {product} to {other[0]}; the run expected nothing"
        elif ran[0] != other[0]:
            yield f"the run expected {check} on {product} to {ran[0]}; this file expects {other[0]}"
        else:
            yield f'the reasons for {check} on {product} differ (the run gave "{ran[1]}")'
