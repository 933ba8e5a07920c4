"""Parameter values as text, for fields where a user types them (``3, 5``, ``same``, ``3x572x572``,
``T, 512`` for a shape with a symbolic size).

:func:`to_text` shows a value; :func:`from_text` reads one back as the raw value that
:meth:`designer.core.params.Param.coerce` then checks, so range and type rules live in one place.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from designer.core.params import Param, ParamError

_SPLIT = re.compile(r"[,x×\s]+")
_SHAPE_SPLIT = re.compile(r"[,×\s]+")  # a shape's names may hold an x: split 3x572 apart below
_SIZES = re.compile(r"^\d+(x\d+)+$")
MAX_KWARGS_TEXT = 2000  # characters a keyword-argument field may hold


def to_text(param: Param, value: Any) -> str:
    """The text a field shows for ``value`` (empty for an unset optional value)."""
    if value is None:
        return ""
    if param.kind == "kwargs":
        return ", ".join(f"{name}={v!r}" for name, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def from_text(param: Param, text: str) -> Any:
    """The raw value for ``text``; raises :class:`ParamError` naming the parameter and the fix."""
    text = text.strip()
    if not text:
        if param.optional:
            return None
        raise ParamError(f"{param.name} needs a value", f"give {param.describe()}")
    if param.kind == "kwargs":
        return _kwargs(param, text)
    if param.kind in ("choice", "path") or (param.kind == "ints" and text in param.choices):
        return text
    if param.kind == "bool":
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise ParamError(f"{param.name}: {text!r} is not true or false", "give true or false")
    if param.kind == "shape":
        return _shape(param, text)
    parts = [p for p in _SPLIT.split(text) if p]
    try:
        numbers = [_number(p) for p in parts]
    except ValueError:
        raise ParamError(
            f"{param.name}: {text!r} is not {param.describe()}", f"give {param.describe()}"
        ) from None
    if param.kind == "ints" and len(numbers) > 1:
        return tuple(numbers)
    if len(numbers) != 1:
        raise ParamError(
            f"{param.name} takes one value, got {len(numbers)}", f"give {param.describe()}"
        )
    return numbers[0]


def _kwargs(param: Param, text: str) -> dict[str, Any]:
    """``dim=1, approximate='tanh'``: each value read by ``ast.literal_eval`` (never ``eval``)."""
    fix = "give keyword arguments such as dim=1, approximate='tanh', dims=(0, 1)"
    if len(text) > MAX_KWARGS_TEXT:
        raise ParamError(f"{param.name} is longer than {MAX_KWARGS_TEXT} characters", fix)
    try:
        call = ast.parse(f"f({text}\n)", mode="eval").body
        if (
            not isinstance(call, ast.Call)
            or not isinstance(call.func, ast.Name)
            or call.args
            or any(k.arg is None for k in call.keywords)
        ):
            raise ValueError
        return {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        raise ParamError(
            f"{param.name}: {text!r} is not keyword arguments of literals", fix
        ) from None


def _shape(param: Param, text: str) -> list[int | float | str]:
    """``3x572x572``, ``3, 572, 572`` or ``T, N, 512``: numbers, and names for symbolic sizes."""
    parts = []
    for part in _SHAPE_SPLIT.split(text):
        if _SIZES.match(part):
            parts += part.split("x")
        elif part and part != "x":
            parts.append(part)
    try:
        return [p if p.isidentifier() else _number(p) for p in parts]
    except ValueError:
        raise ParamError(
            f"{param.name}: {text!r} is not {param.describe()}", f"give {param.describe()}"
        ) from None


def _number(text: str) -> int | float:
    """``3`` -> 3, ``0.5`` -> 0.5, ``1e-5`` -> 1e-05; anything else raises ValueError."""
    try:
        return int(text)
    except ValueError:
        return float(text)
