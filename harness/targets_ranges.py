"""The fix of a targets file's out-of-range number: the allowed range of the field, read from its
pydantic constraints (`Field(ge=..., le=..., gt=..., lt=...)`), e.g. products[0].lab.nodes `Field(ge=1,
le=MAX_WORKERS)` -> "write a number from 1 to 12"."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

_BOUNDS = ("ge", "gt", "le", "lt")  # annotated_types' Ge, Gt, Le, Lt: each holds its bound under its name


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold, through Optional, unions, lists and dicts (values)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, set, frozenset):
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    if origin is dict:
        return _models(typing.get_args(annotation)[-1])
    return []


def field_at(model: type[BaseModel], loc: Iterable[int | str]) -> FieldInfo | None:
    """The field a pydantic error's `loc` names under `model` (list indexes and dict keys skipped), or
    None when the path leaves the models (a validator's own location, a union member's tag)."""
    found: FieldInfo | None = None
    candidates = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        matches = [m.model_fields[part] for m in candidates if part in m.model_fields]
        if matches:
            found = matches[0]
            candidates = _models(found.annotation)
        elif found is not None and typing.get_origin(found.annotation) is dict:
            continue  # a dict key: its value's models are already the candidates
        else:
            return None
    return found


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def allowed_range(bounds: Mapping[str, object]) -> str:
    """The allowed range of a number under `bounds` {"ge"|"gt"|"le"|"lt": bound}, as a fix:
    "write a number from 1 to 12", "write a number above 0 and at most 60", "write 1"."""
    ge, le = bounds.get("ge"), bounds.get("le")
    if ge is not None and ge == le:
        return f"write {_number(ge)}"
    if ge is not None and le is not None:
        return f"write a number from {_number(ge)} to {_number(le)}"
    words = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}
    parts = [f"{words[k]} {_number(bounds[k])}" for k in words if k in bounds]
    if not parts:
        return "write a number in the field's range (see the example targets.yaml)"
    return ("write a number of " if parts[0].startswith("at ") else "write a number ") + " and ".join(parts)


def range_fix(model: type[BaseModel], loc: Iterable[int | str], ctx: Mapping[str, object]) -> str:
    """The fix of an out-of-range error at `loc` under `model`: the field's whole allowed range from its
    constraints, else the one bound pydantic reported (`ctx`, e.g. {"le": 12})."""
    field = field_at(model, loc)
    bounds: dict[str, object] = {}
    for item in field.metadata if field is not None else ():
        bounds.update({name: getattr(item, name) for name in _BOUNDS if hasattr(item, name)})
    return allowed_range(bounds or {k: v for k, v in ctx.items() if k in _BOUNDS})
