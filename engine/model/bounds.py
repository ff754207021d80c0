"""The limits of ``dsl.limits`` enforced on every JSON input, and the cap on the diagnostics of one input.

:func:`loads_bounded` parses JSON text so that nothing the model cannot hold gets past it: an integer of more than
``JSON_INT_DIGITS`` digits, ``Infinity``, ``NaN`` or a float that overflows to infinity (``1e999``), objects or
arrays nested deeper than ``JSON_DEPTH``.  Each is refused with the JSON path of every such value (up to the cap),
never with Python's ``ValueError`` about 4,300 digits or a ``RecursionError`` from a serialiser later on.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dsl.diagnostics import Diagnostic, JsonLocation
from dsl.limits import DIAGNOSTICS, JSON_DEPTH, JSON_INT_DIGITS
from engine.model.errors import InputError


class _Refused:
    """Stands in for a number the model cannot hold, so the walk can name its JSON path."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A fleet with "zone" given twice would otherwise silently keep the last one.
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise DuplicateKey(k)
        out[k] = v
    return out


def json_path(loc: Sequence[int | str]) -> str:
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def loads_bounded(text: str, file: str, code: str = "E-JSON") -> Any:
    """``json.loads`` with the limits of ``dsl.limits``; raises :class:`json.JSONDecodeError`, ``DuplicateKey``
    or RecursionError as ``json.loads`` would, and :class:`InputError` for a value past a limit."""
    refused: list[_Refused] = []

    def parse_int(s: str) -> int | _Refused:
        digits = len(s) - (s[0] == "-")
        if digits > JSON_INT_DIGITS:
            r = _Refused(f"integer of {digits:,} digits; the limit is {JSON_INT_DIGITS}")
            refused.append(r)
            return r
        return int(s)

    def parse_float(s: str) -> float | _Refused:
        v = float(s)
        if math.isfinite(v):
            return v
        r = _Refused(f"number {s[:40]} is too large for a float")
        refused.append(r)
        return r

    def parse_constant(s: str) -> _Refused:
        r = _Refused(f"{s} is not a number JSON allows")
        refused.append(r)
        return r

    data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_int=parse_int, parse_float=parse_float,
                      parse_constant=parse_constant)
    surrogates = _SURROGATE_ESCAPE.search(text) is not None  # the only way a lone surrogate gets into a str
    if refused or surrogates or _depth(data) > JSON_DEPTH:
        problems = _problems(data, file, code, surrogates)
        if problems:
            raise InputError(capped(problems))
    return data


# A JSON escape of a UTF-16 surrogate; a pair of them decodes to one character, a lone one to a str that no UTF-8
# writer accepts (it would fail later, when the name is printed or written).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(s: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in s)


def _depth(root: Any) -> int:
    """The nesting depth of parsed JSON (a scalar 0, ``{}`` 1), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(root, 1)] if isinstance(root, dict | list) else []
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        values = node.values() if type(node) is dict else node
        stack.extend((v, depth + 1) for v in values if type(v) is dict or type(v) is list)
    return deepest


def _problems(root: Any, file: str, code: str, surrogates: bool = False) -> list[Diagnostic]:
    """Every refused number, every container past the depth limit (the outermost only) and (when ``surrogates``)
    every string or key with a lone UTF-16 surrogate, with its path."""
    out: list[Diagnostic] = []
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if isinstance(node, _Refused):
            out.append(Diagnostic(code, node.why, JsonLocation(file, json_path(loc)),
                                  "docs/formats.md (Limits) lists the limit of every number"))
        elif surrogates and isinstance(node, str) and _lone_surrogate(node):
            out.append(Diagnostic(code, "a string with a lone UTF-16 surrogate (\\ud800-\\udfff) is not text",
                                  JsonLocation(file, json_path(loc)),
                                  "write the character itself, or a surrogate pair"))
        elif isinstance(node, dict | list):
            if surrogates and isinstance(node, dict):
                out.extend(Diagnostic(code, "a key with a lone UTF-16 surrogate (\\ud800-\\udfff) is not text",
                                      JsonLocation(file, json_path(loc)), "write the character itself")
                           for k in node if _lone_surrogate(k))
                if any(_lone_surrogate(k) for k in node):
                    continue
            if len(loc) >= JSON_DEPTH:
                out.append(Diagnostic(code, f"objects and arrays nest deeper than {JSON_DEPTH}",
                                      JsonLocation(file, json_path(loc)), "no wavegate format nests this deep"))
                continue
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((v, (*loc, k)) for k, v in reversed(list(items)))
    return out


def capped(diags: Sequence[Diagnostic], limit: int = DIAGNOSTICS) -> list[Diagnostic]:
    """The first ``limit`` diagnostics and, past them, one note counting the rest."""
    if len(diags) <= limit:
        return list(diags)
    rest = len(diags) - limit
    last = diags[limit - 1]
    note = Diagnostic(last.code, f"... and {rest:,} more problem{'s' if rest != 1 else ''} of this input "
                      f"(the first {limit} are shown)", severity="note")
    return [*diags[:limit], note]


def raise_if(diags: Sequence[Diagnostic]) -> None:
    """Raise :class:`InputError` with the (capped) diagnostics, if there are any."""
    if diags:
        raise InputError(capped(diags))


M = TypeVar("M", bound=BaseModel)


def validate_all(model: type[M], data: Any, file: str, code: str,
                 repairable: Callable[[tuple[int | str, ...]], bool] = lambda loc: True,
                 ) -> tuple[M | None, list[Diagnostic]]:
    """Validate ``data`` strictly, reporting every field's problem; when every bad field is one that may be left
    out, also return the model read without them, so that the cross-reference checks can report theirs in the same
    run (a type error must not hide the other problems of the input).  ``repairable`` says which fields may be left
    out for that: not one others refer to (a region's zones), whose default would make false errors elsewhere."""
    try:
        return model.model_validate(data, strict=True), []
    except ValidationError as e:
        diags = pydantic_diagnostics(e, file, code)
        errors = e.errors()
    if not all(repairable(err["loc"]) for err in errors):
        return None, diags
    repaired = copy.deepcopy(data)
    for err in errors:
        _drop(repaired, err["loc"])
    try:
        return model.model_validate(repaired, strict=True), diags
    except ValidationError:
        return None, diags


def _drop(data: Any, loc: Sequence[int | str]) -> None:
    """Remove the field at ``loc`` from parsed JSON, when it is a field of an object (a default then applies)."""
    node: Any = data
    for part in loc[:-1]:
        if not _has(node, part):
            return
        node = node[part]
    if loc and isinstance(node, dict) and loc[-1] in node:
        del node[loc[-1]]


def _has(node: Any, part: int | str) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def pydantic_diagnostics(err: ValidationError, file: str, code: str) -> list[Diagnostic]:
    out = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = e["msg"]
        if e["type"] == "missing":
            msg = f"missing field '{loc[-1]}'" if loc else "missing field"
        elif e["type"] == "extra_forbidden":
            msg = f"unknown field '{loc[-1]}'"
        elif "input" in e and e["type"].endswith("_type"):
            msg = f"{msg}, not {_json_kind(e['input'])}"
        out.append(Diagnostic(code, msg, JsonLocation(file, json_path(loc))))
    return out


def _json_kind(value: Any) -> str:
    """How a JSON value reads in a type error: ``the string "no"``, ``true``, ``the number 2``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        shown = json.dumps(value[:40], ensure_ascii=False)
        return f"the string {shown}" if len(value) <= 40 else f"the string {shown[:-1]}..."
    if isinstance(value, int | float):
        return f"the number {value}"
    return "an array" if isinstance(value, list) else "an object"


def parse_object(model: type[M], data: Any, file: str, code: str, what: str,
                 check: Callable[[M], list[Diagnostic]] | None = None,
                 repairable: Callable[[tuple[int | str, ...]], bool] = lambda loc: True) -> M:
    """One interchange document from parsed JSON: strict validation (:func:`validate_all`), then ``check`` (its
    cross-references) when the fields are sound; every problem of the input in one InputError."""
    if not isinstance(data, dict):
        raise InputError([Diagnostic(code, f"{what} must be a JSON object", JsonLocation(file, "$"))])
    obj, diags = validate_all(model, data, file, code, repairable)
    if obj is not None and check is not None:
        diags.extend(check(obj))
    raise_if(diags)
    assert obj is not None
    return obj
