"""BOSH manifests as the `bosh` CLI builds them: ops files (go-patch) and `((variables))`. Pure functions.

Supported go-patch: `replace` and `remove` with paths of map keys, list indexes,
`name=value` selectors, `-` (append) and the `?` suffix (create if missing).
"""

from __future__ import annotations

import copy
import re
from typing import Any

_VARIABLE = re.compile(r"\(\(\s*([A-Za-z0-9_./-]+)\s*\)\)")


class OpsError(ValueError):
    """An ops file that cannot be applied; the message names the operation and the path."""


def apply_ops(manifest: dict[str, Any], operations: list[dict[str, Any]], source: str = "ops file") -> dict[str, Any]:
    """A copy of `manifest` with the go-patch operations applied in order."""
    result = copy.deepcopy(manifest)
    for index, operation in enumerate(operations):
        kind = operation.get("type")
        path = operation.get("path")
        if kind not in ("replace", "remove") or not isinstance(path, str) or not path.startswith("/"):
            raise OpsError(f"{source}[{index}]: expected type replace or remove and a path starting with /")
        try:
            _apply(result, _parts(path), kind, operation.get("value"))
        except OpsError as exc:
            raise OpsError(f"{source}[{index}] ({kind} {path}): {exc}") from None
    return result


def _parts(path: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]


def _apply(node: Any, parts: list[str], kind: str, value: Any) -> None:
    optional = False
    for position, raw in enumerate(parts):
        last = position == len(parts) - 1
        part = raw.removesuffix("?")
        optional = optional or raw.endswith("?")
        if isinstance(node, list):
            index = _list_index(node, part, optional, last and kind == "replace")
            if last:
                if kind == "remove":
                    node.pop(index)
                elif index == len(node):
                    node.append(copy.deepcopy(value))
                else:
                    node[index] = copy.deepcopy(value)
                return
            node = node[index]
        elif isinstance(node, dict):
            if last:
                if kind == "remove":
                    if part not in node:
                        raise OpsError(f'no key "{part}" to remove')
                    del node[part]
                else:
                    node[part] = copy.deepcopy(value)
                return
            if part not in node:
                if not optional:
                    raise OpsError(f'no key "{part}" (add "?" to create it)')
                node[part] = [] if "=" in parts[position + 1] else {}
            node = node[part]
        else:
            raise OpsError(f'cannot descend into "{part}": not a map or a list')


def _list_index(node: list[Any], part: str, optional: bool, may_append: bool) -> int:
    if part == "-":
        if not may_append:
            raise OpsError('"-" (append) only works as the last part of a replace')
        return len(node)
    if part.lstrip("-").isdigit():
        index = int(part)
        if not -len(node) <= index < len(node):
            raise OpsError(f"index {index} is out of range ({len(node)} items)")
        return index % len(node)
    key, _, wanted = part.partition("=")
    if not _:
        raise OpsError(f'"{part}" is not an index or a key=value selector')
    matches = [i for i, item in enumerate(node) if isinstance(item, dict) and str(item.get(key)) == wanted]
    if len(matches) > 1:
        raise OpsError(f"{part} matches {len(matches)} items")
    if matches:
        return matches[0]
    if optional:
        node.append({key: wanted})
        return len(node) - 1
    raise OpsError(f'no item with {part} (add "?" to create it)')


def interpolate(value: Any, variables: dict[str, str]) -> Any:
    """Replace `((name))` by known variables; unknown ones stay for the director's config server."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if isinstance(value, str):
        whole = _VARIABLE.fullmatch(value.strip())
        if whole and whole.group(1) in variables:
            return variables[whole.group(1)]
        return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    return value
