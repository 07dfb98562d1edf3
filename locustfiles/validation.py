"""Response body shapes: a wrong body is a failure, not a success with a 200.

A shape is a type (`int`, `str`, ...), a dict of key -> shape (keys required, extra keys allowed),
or a one-element list `[shape]` (a list whose first element, if any, has that shape).
Messages never quote the body: it may hold tokens or personal data.
"""

from __future__ import annotations

from typing import Any

Shape = Any

_TYPE_NAMES = {int: "number", float: "number", str: "string", bool: "boolean", list: "list", dict: "object"}


def shape_problem(value: Any, shape: Shape, where: str = "body") -> str | None:
    """Return None when value has the shape, else one short sentence saying where it differs."""
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{where} is not an object"
        for key, sub in shape.items():
            if key not in value:
                return f"{where} lacks key '{key}'"
            problem = shape_problem(value[key], sub, f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{where} is not a list"
        return shape_problem(value[0], shape[0], f"{where}[0]") if value and shape else None
    if shape in (int, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, shape)
    return None if ok else f"{where} is not a {_TYPE_NAMES.get(shape, shape.__name__)}"
