"""Typed parameter specs: the single description the inspector, validation and files all read.

A :class:`Param` knows its kind, default, range or choices and a one-line doc, and turns a raw
value (from JSON, the inspector or Python) into a clean one or raises :class:`ParamError` saying
what would fix it.
"""

from __future__ import annotations

import keyword
import math
import re
import weakref
from dataclasses import dataclass
from typing import Any

from designer.core.tensor import BATCH, SYMBOL

KINDS = ("int", "float", "bool", "choice", "ints", "shape", "path", "kwargs")
MAX_SIZE = 1_000_000  # default upper bound for channels, features and spatial sizes
MAX_PATH = 120  # characters of a dotted name
DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MAX_KWARGS = 32  # keyword arguments of one call
MAX_ITEMS = 64  # items of one list or tuple among them
MAX_TEXT = 200  # characters of one string among them
LITERAL_DEPTH = 2  # lists of lists, no deeper


class FrozenKwargs(dict):
    """Keyword arguments as a ``kwargs`` parameter holds them once checked: a dict that cannot
    change, so that it hashes and memo keys take it as it is (no copy per validation). Made
    through :func:`interned`, equal ones are one object: memo keys then compare by identity."""

    __slots__ = ("__weakref__",)
    # Interned, equal ones are one object, so identity is the hash, and it is hashed in C. Equal
    # ones that are not one object (items in another order, a value no key holds) only miss a memo.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:  # types count: dim=1 is no dim=1.0 nor dim=True
        return other is self or (isinstance(other, dict) and _typed(self) == _typed(other))

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __reduce__(self):  # copies and pickles rebuild it whole, never item by item
        return _rebuilt, (dict(self),)

    def _refuse(self, *args: Any, **kwargs: Any):
        raise TypeError("keyword arguments of a parameter do not change; set a new dict instead")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse


def frozen(value: Any) -> Any:
    """A raw parameter value as a node holds it: keyword arguments (a dict that is no
    ``{"expr": ...}``) become a :class:`FrozenKwargs`, their lists tuples, so that memo keys take
    them as they are; every other value is returned unchanged. Nothing is checked here."""
    if type(value) is not dict or (len(value) == 1 and "expr" in value):
        return value
    return interned(FrozenKwargs({k: _tuples(v) for k, v in value.items()}))


_INTERNED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def interned(kwargs: FrozenKwargs) -> FrozenKwargs:
    """The one live FrozenKwargs with these items, in this order and of these types."""
    try:
        return _INTERNED.setdefault(tuple((k, _typed(v)) for k, v in kwargs.items()), kwargs)
    except TypeError:  # a dict among the values: kept as it is
        return kwargs


def _rebuilt(items: dict) -> FrozenKwargs:
    return interned(FrozenKwargs(items))


def _typed(value: Any) -> Any:
    """A value with the type of every part beside it, so that equal-comparing numbers of
    different types (1, 1.0, True) compare unequal."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value), tuple(_typed(v) for v in value)
    return type(value), value


def _tuples(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value


class ParamError(ValueError):
    """A parameter value of the wrong type or out of range."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Param:
    """One parameter of a block type.

    ``ints`` holds an int or a tuple of ``length`` ints (torch's ``kernel_size=3`` or ``(3, 5)``),
    or, with no ``length``, of 1 to ``most`` ints (3 when unset), and may also allow the strings in
    ``choices`` (``padding="same"``). ``shape`` is a list of 1 to 5 sizes, each a positive integer
    or a name (a symbolic size such as ``T``; not ``x``, which text fields read as a separator),
    plus at most one ``N`` (the batch's symbol, which an Input places there). ``path`` is a dotted
    Python name (``torch.nn.GELU``), checked for its characters and length only. ``kwargs`` maps
    keyword names to Python literals (numbers, booleans, strings, None, and lists or tuples of
    those, which become tuples).
    """

    name: str
    kind: str
    default: Any
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    optional: bool = False
    length: int | None = None
    most: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: unknown kind {self.kind!r}")

    def describe(self) -> str:
        """A short human description of what values are allowed."""
        rng = ""
        if self.min is not None or self.max is not None:
            lo = "" if self.min is None else f"{_number(self.min)} ≤ "
            hi = "" if self.max is None else f" ≤ {_number(self.max)}"
            rng = f" ({lo}{self.name}{hi})"
        if self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "ints":
            text = f"an integer or {self.length or 'a list of'} integers" + rng
            if self.choices:
                text += " or one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "shape":
            text = "a list of 1 to 5 sizes (positive integers or names such as T)"
        elif self.kind == "path":
            text = f"a dotted name such as torch.nn.GELU (at most {MAX_PATH} characters)"
        elif self.kind == "kwargs":
            text = "keyword arguments such as dim=1, approximate='tanh', dims=(0, 1)"
        else:
            text = {"int": "an integer", "float": "a number", "bool": "true or false"}[
                self.kind
            ] + rng
        return text + (" or null" if self.optional else "")

    def coerce(self, value: Any) -> Any:
        """Return the clean value or raise :class:`ParamError`."""
        if value is None:
            if self.optional:
                return None
            raise ParamError(f"{self.name} needs a value", f"give {self.describe()}")
        try:
            return _COERCE[self.kind](self, value)
        except ParamError:
            raise
        except (TypeError, ValueError, OverflowError):
            pass
        raise ParamError(
            f"{self.name} must be {self.describe()}, got {_short(value)}", f"give {self.describe()}"
        )

    def _in_range(self, value: float) -> None:
        if (self.min is not None and value < self.min) or (
            self.max is not None and value > self.max
        ):
            raise ParamError(
                f"{self.name} = {_short(value)} is out of range", f"give {self.describe()}"
            )

    def _coerce_int(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
                value = int(value)
            else:
                raise TypeError
        self._in_range(value)
        return value

    def _coerce_float(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError
        value = float(value)
        if not math.isfinite(value):
            raise ValueError
        self._in_range(value)
        return value

    def _coerce_bool(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise TypeError
        return value

    def _coerce_choice(self, value: Any) -> str:
        if value not in self.choices or not isinstance(value, str):
            raise ValueError
        return value

    def _coerce_ints(self, value: Any) -> int | tuple[int, ...] | str:
        if isinstance(value, str) and value in self.choices:
            return value
        if isinstance(value, (list, tuple)):
            most = self.most or 3
            if (self.length is None and not 1 <= len(value) <= most) or (
                self.length is not None and len(value) != self.length
            ):
                needs = self.length or f"1 to {most}"
                raise ParamError(
                    f"{self.name} has {len(value)} values, this block needs {needs}",
                    f"give {self.describe()}",
                )
            return tuple(self._coerce_int(v) for v in value)
        return self._coerce_int(value)

    def _coerce_shape(self, value: Any) -> tuple[int | str, ...]:
        if not isinstance(value, (list, tuple)):
            raise TypeError
        sizes = tuple(value)
        batch = sum(1 for v in sizes if v == BATCH and isinstance(v, str))
        if batch > 1 or not 1 <= len(sizes) - batch <= 5:
            raise ValueError
        for v in sizes:
            if isinstance(v, str):
                if not SYMBOL.match(v) or v == "x":
                    raise ValueError
            elif isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_SIZE:
                raise ValueError
        return sizes

    def _coerce_path(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError
        if len(value) > MAX_PATH or not DOTTED.match(value) or not value.isascii():
            raise ValueError
        return value

    def _coerce_kwargs(self, value: Any) -> FrozenKwargs:
        if not isinstance(value, dict):
            raise TypeError
        if len(value) > MAX_KWARGS:
            raise ParamError(
                f"{self.name} has {len(value)} keyword arguments, at most {MAX_KWARGS}",
                "remove some",
            )
        for name in value:
            if not _keyword_name(name):
                raise ParamError(
                    f"{self.name}: {_short(name)} is not a keyword argument name",
                    "give names such as dim or approximate",
                )
        return interned(FrozenKwargs({n: self._literal(n, v, 0) for n, v in value.items()}))

    def _literal(self, name: str, value: Any, depth: int) -> Any:
        """A clean literal: scalars as they are, lists and tuples as tuples."""
        if value is None or isinstance(value, (bool, int)):
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
                raise ValueError
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError
            return value
        if isinstance(value, str):
            if len(value) > MAX_TEXT or not value.isprintable():
                raise ValueError
            return value
        if isinstance(value, (list, tuple)) and depth < LITERAL_DEPTH and len(value) <= MAX_ITEMS:
            return tuple(self._literal(name, v, depth + 1) for v in value)
        raise ParamError(
            f"{self.name}: {name} = {_short(value)} is not a plain literal",
            "give numbers, true/false, strings, None, or lists of those",
        )

    def to_json(self) -> Any:
        """The default as it is written in a file."""
        return list(self.default) if isinstance(self.default, tuple) else self.default


_COERCE = {kind: getattr(Param, "_coerce_" + kind) for kind in KINDS}


def _keyword_name(name: Any) -> bool:
    return (
        isinstance(name, str)
        and name.isidentifier()
        and name.isascii()
        and not keyword.iskeyword(name)
        and len(name) <= 64
    )


def _number(value: float) -> str:
    return f"{value:,}" if float(value).is_integer() and abs(value) >= 1000 else f"{value:g}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def Path(name: str, default: str, doc: str) -> Param:
    """A dotted name, such as the torch class or function a block wraps."""
    return Param(name, "path", default, doc)


def Kwargs(name: str, doc: str) -> Param:
    """Keyword arguments of literal values (none by default)."""
    return Param(name, "kwargs", FrozenKwargs(), doc)


def Int(
    name: str, default: Any, doc: str, min: int | None = None, max: int | None = None, **kw: Any
) -> Param:
    """An integer parameter."""
    return Param(name, "int", default, doc, min=min, max=max, **kw)


def Float(
    name: str, default: Any, doc: str, min: float | None = None, max: float | None = None, **kw: Any
) -> Param:
    """A real-valued parameter."""
    return Param(name, "float", default, doc, min=min, max=max, **kw)


def Bool(name: str, default: bool, doc: str) -> Param:
    """A switch."""
    return Param(name, "bool", default, doc)


def Choice(name: str, default: str, doc: str, choices: tuple[str, ...]) -> Param:
    """One string out of a fixed set."""
    return Param(name, "choice", default, doc, choices=choices)


def Ints(
    name: str, default: Any, doc: str, length: int, min: int = 0, max: int = 4096, **kw: Any
) -> Param:
    """An int or a tuple of ``length`` ints, as torch's ``kernel_size``."""
    return Param(name, "ints", default, doc, min=min, max=max, length=length, **kw)
