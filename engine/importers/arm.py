"""ARM templates → fleet records, evaluating the small part of the template language that placement needs.

Only the fields the fleet needs are evaluated (names, locations, zones, capacities, upgrade modes, availability-set
references, extension properties, copy counts and conditions), so an unsupported function elsewhere in a template
(``uniqueString`` in a DNS label, ``reference`` in boot diagnostics) does not matter.  An expression the subset
does not cover, where it is needed, is refused with its JSON path and text.

Placement assumptions (also printed as notes): scale-set instance ``i`` is named ``<vmss>_<i>``, sits in zone
``zones[i mod len(zones)]`` and update domain ``i mod U`` (U = 5 unless given); an availability-set VM with index
``k`` in its set has update domain ``k mod platformUpdateDomainCount`` and fault domain
``k mod platformFaultDomainCount``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsl.azure import azure_regions
from dsl.diagnostics import Diagnostic, JsonLocation
from dsl.suggest import closest
from engine.importers.common import (
    DEFAULT_SUBSCRIPTION,
    AzureRegion,
    Collected,
    ExtensionRecord,
    ImportResult,
    SetRecord,
    VMRecord,
    as_bool,
    assemble,
    check_version,
    load_catalog,
    option_region,
    region_of,
)
from engine.model.bounds import capped
from engine.model.errors import InputError
from engine.model.fleet import read_json

DEFAULT_UPDATE_DOMAINS = 5
# Azure's defaults for an availability set that does not say (the az CLI and portal use the same).
DEFAULT_AVSET_UPDATE_DOMAINS = 5
DEFAULT_AVSET_FAULT_DOMAINS = 2
MAX_COPY = 100_000

VMSS = "microsoft.compute/virtualmachinescalesets"
VMSS_EXT = "microsoft.compute/virtualmachinescalesets/extensions"
AVSET = "microsoft.compute/availabilitysets"
VM = "microsoft.compute/virtualmachines"
VM_EXT = "microsoft.compute/virtualmachines/extensions"
DEPLOYMENT = "microsoft.resources/deployments"
RELEVANT = frozenset({VMSS, VMSS_EXT, AVSET, VM, VM_EXT, DEPLOYMENT})


class ArmError(Exception):
    """A refusal at a JSON path of the template (converted to a Diagnostic by the caller)."""

    def __init__(self, path: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.hint = hint


# ----------------------------------------------------------------------------------------------------------------
# Expressions: tokenizer, parser, evaluator

_TOKEN_RE = re.compile(r"""\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[(),.\[\]]))""")


@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Member:
    target: Expr
    name: str


@dataclass(frozen=True)
class Index:
    target: Expr
    index: Expr


Expr = Lit | Call | Member | Index


def parse_expression(text: str) -> Expr:
    """Parse the inside of ``[...]``; ValueError with a reason when it is not an expression."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"unexpected character {text[pos:].lstrip()[:1]!r}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    i = 0

    def peek() -> tuple[str, str] | None:
        return tokens[i] if i < len(tokens) else None

    def take(op: str) -> None:
        nonlocal i
        t = peek()
        if t is None or t != ("op", op):
            raise ValueError(f"expected '{op}'" + (f" before '{t[1]}'" if t else " at the end"))
        i += 1

    def primary() -> Expr:
        nonlocal i
        t = peek()
        if t is None:
            raise ValueError("unexpected end of expression")
        i += 1
        kind, val = t
        if kind == "str":
            return Lit(val[1:-1].replace("''", "'"))
        if kind == "num":
            return Lit(int(val))
        if kind == "id":
            take("(")
            args: list[Expr] = []
            if peek() != ("op", ")"):
                args.append(expr())
                while peek() == ("op", ","):
                    i += 1
                    args.append(expr())
            take(")")
            return Call(val, tuple(args))
        raise ValueError(f"unexpected '{val}'")

    def expr() -> Expr:
        nonlocal i
        node = primary()
        while True:
            t = peek()
            if t == ("op", "."):
                i += 1
                n = peek()
                if n is None or n[0] != "id":
                    raise ValueError("expected a property name after '.'")
                i += 1
                node = Member(node, n[1])
            elif t == ("op", "["):
                i += 1
                idx = expr()
                take("]")
                node = Index(node, idx)
            else:
                return node

    result = expr()
    if i != len(tokens):
        raise ValueError(f"unexpected '{tokens[i][1]}'")
    return result


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[") and not value.startswith("[[") and value.endswith("]")


@dataclass
class Context:
    """Evaluation context of one template (and one copy-loop iteration: ``copy_index``)."""

    template: dict[str, Any]
    params: dict[str, Any]  # given values (from --parameters / --param)
    location: str | None
    subscription: str | None
    copy_name: str | None = None
    copy_index: int | None = None
    _variables: dict[str, Any] = field(default_factory=dict)
    _parameters: dict[str, Any] = field(default_factory=dict)
    _active: set[str] = field(default_factory=set)

    def at_copy(self, name: str | None, index: int) -> Context:
        # Variables and parameters never depend on a resource's copy index: share their caches.
        return Context(self.template, self.params, self.location, self.subscription, name, index,
                       self._variables, self._parameters, self._active)


def resolve(value: Any, path: str, ctx: Context) -> Any:
    """The value of a template node: an expression string evaluated, "[[" unescaped, anything else as is."""
    if isinstance(value, str):
        if value.startswith("[["):
            return value[1:]
        if is_expression(value):
            try:
                tree = parse_expression(value[1:-1])
                return _eval(tree, path, ctx, value)
            except ValueError as e:
                raise ArmError(path, f"cannot parse expression {value}: {e}") from None
            except RecursionError:
                raise ArmError(path, "expression nested too deeply") from None
    return value


def walk(node: Any, path: str, ctx: Context, *keys: str | int) -> tuple[Any, str]:
    """Follow ``keys`` from ``node`` (each step resolved); (None, path) when a key is absent."""
    node = resolve(node, path, ctx)
    for k in keys:
        if isinstance(k, int):
            if not isinstance(node, list) or k >= len(node):
                return None, path
            path = f"{path}[{k}]"
            node = node[k]
        else:
            if not isinstance(node, dict):
                return None, path
            match = next((key for key in node if key.lower() == k.lower()), None)  # ARM property names ignore case
            if match is None:
                return None, f"{path}.{k}"
            path = f"{path}.{match}"
            node = node[match]
        node = resolve(node, path, ctx)
    return node, path


def _eval(e: Expr, path: str, ctx: Context, text: str) -> Any:
    def fail(msg: str, hint: str | None = None) -> ArmError:
        return ArmError(path, f"{msg} in {text}", hint)

    if isinstance(e, Lit):
        return e.value
    if isinstance(e, Member):
        target = _eval(e.target, path, ctx, text)
        if not isinstance(target, dict):
            raise fail(f"property '.{e.name}' of a {type(target).__name__}")
        key = next((k for k in target if k.lower() == e.name.lower()), None)
        if key is None:
            raise fail(f"no property '{e.name}'")
        return resolve(target[key], path, ctx)
    if isinstance(e, Index):
        target = _eval(e.target, path, ctx, text)
        idx = _eval(e.index, path, ctx, text)
        if isinstance(target, list) and isinstance(idx, int) and not isinstance(idx, bool):
            if not 0 <= idx < len(target):
                raise fail(f"index {idx} out of range (length {len(target)})")
            return resolve(target[idx], path, ctx)
        if isinstance(target, dict) and isinstance(idx, str):
            key = next((k for k in target if k.lower() == idx.lower()), None)
            if key is None:
                raise fail(f"no property '{idx}'")
            return resolve(target[key], path, ctx)
        raise fail(f"cannot index a {type(target).__name__} with {json.dumps(idx)}")
    name = e.name.lower()
    if name == "if":
        # Only the branch taken is evaluated, as ARM does: the other may use functions outside the subset.
        if len(e.args) != 3:
            raise fail("if() takes 3 arguments")
        cond = _eval(e.args[0], path, ctx, text)
        if not isinstance(cond, bool):
            raise fail("if() condition is not a bool")
        return _eval(e.args[1] if cond else e.args[2], path, ctx, text)
    fn = _FUNCTIONS.get(name)
    if fn is None:
        raise fail(f"function '{e.name}()' is outside the supported subset",
                   "supported: " + ", ".join(sorted(_FUNCTIONS)) + ", if; set the value with --param")
    args = [_eval(a, path, ctx, text) for a in e.args]
    try:
        return fn(args, ctx, path)
    except ArmError:
        raise
    except (TypeError, ValueError, IndexError, KeyError, ArithmeticError) as exc:
        raise fail(f"{e.name}(): {exc}") from None


def _arity(args: list[Any], lo: int, hi: int, name: str) -> None:
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise ValueError(f"{name}() takes {want} argument(s), got {len(args)}")


def _f_parameters(args: list[Any], ctx: Context, path: str) -> Any:
    _arity(args, 1, 1, "parameters")
    name = args[0]
    if not isinstance(name, str):
        raise ValueError("parameter name must be a string")
    decls = ctx.template.get("parameters") or {}
    if not isinstance(decls, dict):
        raise ArmError("$.parameters", "parameters must be an object")
    key = next((k for k in decls if k.lower() == name.lower()), None)
    if key is None:
        raise ArmError(path, f"parameter '{name}' is not declared in the template")
    if key in ctx._parameters:
        return ctx._parameters[key]
    decl = decls[key] if isinstance(decls[key], dict) else {}
    ppath = f"$.parameters.{key}"
    if key in ctx.params:
        value = _coerce_param(ctx.params[key], decl.get("type"), key)
    elif "defaultValue" in decl:
        guard = "p:" + key
        if guard in ctx._active:
            raise ArmError(ppath, f"parameter '{key}' refers to itself")
        ctx._active.add(guard)
        try:
            value = resolve(decl["defaultValue"], f"{ppath}.defaultValue", ctx)
        finally:
            ctx._active.discard(guard)
    elif key.lower() == "location" and ctx.location is not None:
        value = ctx.location  # --location stands for the deployment's location, which is what this parameter asks
    else:
        kind = decl.get("type")
        raise MissingParameter(ppath, key, kind.lower() if isinstance(kind, str) else "string")
    ctx._parameters[key] = value
    return value


def _coerce_param(value: Any, declared: Any, name: str) -> Any:
    kind = declared.lower() if isinstance(declared, str) else ""
    if isinstance(value, str) and kind == "int":
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"parameter '{name}' is an int, got '{value}'") from None
    if isinstance(value, str) and kind == "bool":
        b = as_bool(value)
        if b is None:
            raise ValueError(f"parameter '{name}' is a bool, got '{value}'")
        return b
    if isinstance(value, str) and kind in ("array", "object"):
        return json.loads(value)
    return value


def _f_variables(args: list[Any], ctx: Context, path: str) -> Any:
    _arity(args, 1, 1, "variables")
    name = args[0]
    if not isinstance(name, str):
        raise ValueError("variable name must be a string")
    decls = ctx.template.get("variables") or {}
    if not isinstance(decls, dict):
        raise ArmError("$.variables", "variables must be an object")
    key = next((k for k in decls if k.lower() == name.lower()), None)
    if key is None:
        raise ArmError(path, f"variable '{name}' is not defined in the template")
    if key in ctx._variables:
        return ctx._variables[key]
    guard = "v:" + key
    if guard in ctx._active:
        raise ArmError(f"$.variables.{key}", f"variable '{key}' refers to itself")
    ctx._active.add(guard)
    try:
        value = resolve(decls[key], f"$.variables.{key}", ctx)
    finally:
        ctx._active.discard(guard)
    ctx._variables[key] = value
    return value


def _f_copy_index(args: list[Any], ctx: Context, path: str) -> Any:
    _arity(args, 0, 2, "copyIndex")
    offset = 0
    loop: str | None = None
    for a in args:
        if isinstance(a, int) and not isinstance(a, bool):
            offset = a
        elif isinstance(a, str):
            loop = a
    if ctx.copy_index is None:
        raise ArmError(path, "copyIndex() outside a copy loop")
    if loop is not None and ctx.copy_name is not None and loop.lower() != ctx.copy_name.lower():
        raise ArmError(path, f"copyIndex('{loop}') names another loop than '{ctx.copy_name}'")
    return ctx.copy_index + offset


def _f_resource_group(args: list[Any], ctx: Context, path: str) -> Any:
    _arity(args, 0, 0, "resourceGroup")
    if ctx.location is None:
        raise ArmError(path, "resourceGroup().location is only known at deployment time",
                       "pass --location REGION (the resource group's location)")
    return {"location": ctx.location}


def _f_subscription(args: list[Any], ctx: Context, path: str) -> Any:
    _arity(args, 0, 0, "subscription")
    if ctx.subscription is None:
        raise ArmError(path, "subscription() is only known at deployment time", "pass --subscription ID")
    return {"subscriptionId": ctx.subscription}


def _f_resource_id(args: list[Any], ctx: Context, path: str) -> Any:
    parts = [str(a) for a in args]
    start = next((i for i, p in enumerate(parts) if "/" in p and "." in p.split("/")[0]), None)
    if start is None:
        raise ValueError("no resource type argument")
    rtype = parts[start].strip("/")
    names = parts[start + 1:]
    segments = rtype.split("/")
    tail = "/".join(f"{t}/{n}" for t, n in zip(segments[1:], names, strict=False))
    return f"/providers/{segments[0]}/{tail}"


def _f_concat(args: list[Any], ctx: Context, path: str) -> Any:
    if args and all(isinstance(a, list) for a in args):
        return [x for a in args for x in a]
    return "".join(_as_text(a) for a in args)


def _as_text(a: Any) -> str:
    if isinstance(a, bool):
        return "True" if a else "False"  # ARM prints booleans the .NET way
    if isinstance(a, (int, str)):
        return str(a)
    raise ValueError(f"cannot join a {type(a).__name__} into a string")


def _f_format(args: list[Any], ctx: Context, path: str) -> Any:
    if not args or not isinstance(args[0], str):
        raise ValueError("format() needs a format string")
    fmt, values = args[0], args[1:]

    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok in ("{{", "}}"):
            return tok[0]
        inner = m.group(1)
        if not inner.isdigit():
            raise ValueError(f"format item {tok} is outside the supported subset (only {{0}}, {{1}}, ...)")
        n = int(inner)
        if n >= len(values):
            raise ValueError(f"format item {tok} has no argument")
        return _as_text(values[n])

    return re.sub(r"\{\{|\}\}|\{([^{}]*)\}", sub, fmt)


def _f_int(args: list[Any], ctx: Context, path: str) -> Any:
    _arity(args, 1, 1, "int")
    if isinstance(args[0], bool):
        raise ValueError("int() of a bool")
    return int(args[0])


def _f_string(args: list[Any], ctx: Context, path: str) -> Any:
    _arity(args, 1, 1, "string")
    a = args[0]
    return a if isinstance(a, str) else json.dumps(a) if isinstance(a, (list, dict)) else _as_text(a)


def _f_length(args: list[Any], ctx: Context, path: str) -> Any:
    _arity(args, 1, 1, "length")
    if not isinstance(args[0], (str, list, dict)):
        raise ValueError("length() of a number or bool")
    return len(args[0])


def _f_equals(args: list[Any], ctx: Context, path: str) -> Any:
    _arity(args, 2, 2, "equals")
    return args[0] == args[1] and type(args[0]) is type(args[1])


def _bools(args: list[Any], name: str) -> list[bool]:
    if not all(isinstance(a, bool) for a in args):
        raise ValueError(f"{name}() takes bools")
    return list(args)


def _f_json(args: list[Any], ctx: Context, path: str) -> Any:
    _arity(args, 1, 1, "json")
    if not isinstance(args[0], str):
        raise ValueError("json() takes a string")
    return json.loads(args[0])


def _arith(op: Callable[[int, int], int]) -> Callable[[list[Any], Context, str], Any]:
    def f(args: list[Any], ctx: Context, path: str) -> Any:
        if len(args) != 2 or not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            raise ValueError("takes two ints")
        return op(args[0], args[1])

    return f


_FUNCTIONS: dict[str, Callable[[list[Any], Context, str], Any]] = {
    "parameters": _f_parameters,
    "variables": _f_variables,
    "copyindex": _f_copy_index,
    "resourcegroup": _f_resource_group,
    "subscription": _f_subscription,
    "resourceid": _f_resource_id,
    "concat": _f_concat,
    "format": _f_format,
    "int": _f_int,
    "string": _f_string,
    "tolower": lambda a, c, p: _one_str(a, "toLower").lower(),
    "toupper": lambda a, c, p: _one_str(a, "toUpper").upper(),
    "length": _f_length,
    "equals": _f_equals,
    "and": lambda a, c, p: all(_bools(a, "and")),
    "or": lambda a, c, p: any(_bools(a, "or")),
    "not": lambda a, c, p: not _bools(a, "not")[0] if len(a) == 1 else _arity(a, 1, 1, "not"),
    "true": lambda a, c, p: True,
    "false": lambda a, c, p: False,
    "null": lambda a, c, p: None,
    "json": _f_json,
    "add": _arith(lambda x, y: x + y),
    "sub": _arith(lambda x, y: x - y),
    "mul": _arith(lambda x, y: x * y),
    "div": _arith(lambda x, y: _truncated_div(x, y)),
    "mod": _arith(lambda x, y: x - y * _truncated_div(x, y)),
}


def _truncated_div(x: int, y: int) -> int:
    """Integer division rounding toward zero, as ARM (.NET) does: div(-7, 2) is -3."""
    if y == 0:
        raise ZeroDivisionError("division by zero")
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


def _one_str(args: list[Any], name: str) -> str:
    _arity(args, 1, 1, name)
    if not isinstance(args[0], str):
        raise ValueError(f"{name}() takes a string")
    return args[0]


# ----------------------------------------------------------------------------------------------------------------
# Resources


@dataclass
class _Instance:
    """One resource after its copy loop is expanded: the raw node, its JSON path and its evaluation context."""

    node: dict[str, Any]
    path: str
    ctx: Context
    rtype: str  # lower-case full type; a nested child's short type is prefixed with its parent's
    parent_name: str | None = None  # set for child resources nested in a parent's "resources" array


def _expand(resources: Any, base: str, ctx: Context, parent: _Instance | None, out: list[_Instance]) -> None:
    if resources is None:
        return
    if not isinstance(resources, list):
        raise ArmError(base, "'resources' must be a list",
                       "templates with symbolic resource names (languageVersion 2.0) are not supported")
    for i, node in enumerate(resources):
        path = f"{base}[{i}]"
        if not isinstance(node, dict):
            raise ArmError(path, "a resource must be a JSON object")
        rtype, tpath = walk(node, path, ctx, "type")
        if not isinstance(rtype, str) or not rtype:
            raise ArmError(tpath, f"resource type must be a non-empty string, got {json.dumps(rtype)}")
        rtype = rtype.lower()
        if parent is not None and not rtype.startswith("microsoft."):
            rtype = f"{parent.rtype}/{rtype}"
        if rtype not in RELEVANT:
            continue  # networks, disks, storage...: their copy counts and conditions may use anything
        copy = node.get("copy")
        if copy is None:
            instances = [ctx]
        else:
            if not isinstance(copy, dict):
                raise ArmError(f"{path}.copy", "copy must be an object with name and count")
            count = resolve(copy.get("count"), f"{path}.copy.count", ctx)
            if isinstance(count, str) and count.isdigit():
                count = int(count)
            if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_COPY:
                raise ArmError(f"{path}.copy.count", f"copy count must be an int from 0 to {MAX_COPY}, got "
                               f"{json.dumps(count)}")
            loop = copy.get("name") if isinstance(copy.get("name"), str) else None
            instances = [ctx.at_copy(loop, k) for k in range(count)]
        for c in instances:
            cond = node.get("condition")
            if cond is not None:
                value = resolve(cond, f"{path}.condition", c)
                b = as_bool(value)
                if b is None:
                    raise ArmError(f"{path}.condition", f"condition is not a bool: {json.dumps(value)}")
                if not b:
                    continue
            parent_name = None
            if parent is not None:
                pname, _ = walk(parent.node, parent.path, parent.ctx, "name")
                parent_name = str(pname)
            inst = _Instance(node, path, c, rtype, parent_name)
            out.append(inst)
            if rtype in (VM, VMSS):
                _expand(node.get("resources"), f"{path}.resources", c, inst, out)


@dataclass(frozen=True)
class ArmOptions:
    location: str | None = None
    subscription: str | None = None
    params: dict[str, str] = field(default_factory=dict)  # --param k=v (strings, coerced by declared type)
    parameters_file: Path | None = None
    update_domains: int = DEFAULT_UPDATE_DOMAINS
    catalog: Path | None = None


def read_parameters_file(path: Path) -> dict[str, Any]:
    """An ARM parameters file ({"parameters": {"k": {"value": v}}}) or a plain {"k": v} object."""
    name = str(path)
    data = read_json(path, "parameters")
    if not isinstance(data, dict):
        raise InputError([Diagnostic("E-IMPORT", "a parameters file must be a JSON object", JsonLocation(name, "$"))])
    if isinstance(data.get("parameters"), dict):
        out: dict[str, Any] = {}
        for k, v in data["parameters"].items():
            if not isinstance(v, dict) or "value" not in v:
                hint = "Key Vault references cannot be resolved offline" if isinstance(v, dict) and "reference" in v \
                    else 'write {"value": ...}'
                raise InputError([Diagnostic("E-IMPORT", f"parameter '{k}' has no value",
                                             JsonLocation(name, f"$.parameters.{k}"), hint)])
            out[k] = v["value"]
        return out
    return {k: v for k, v in data.items() if not k.startswith("$") and k != "contentVersion"}


def collect_template(data: Any, file: str, opts: ArmOptions, given: dict[str, Any],
                     regions: dict[str, AzureRegion], out: Collected) -> None:
    """Read one template into ``out``; InputError (JSON path + reason) when it cannot be imported."""
    problems: list[ArmError] = []
    trial = dict(given)
    # A parameter without a value ends the expansion; it is given a stand-in and the template expanded again, so one
    # run names every missing parameter (bounded: each round names a new one).
    while True:
        try:
            _collect(data, file, opts, trial, regions, out if not problems else Collected())
            break
        except MissingParameter as e:
            problems.append(e)
            if e.key in trial:
                break
            trial[e.key] = _STAND_IN.get(e.kind, "x")
        except ArmError as e:
            problems.append(e)
            break
        except ArmErrors as e:
            problems.extend(e.errors)
            break
    if problems:
        raise InputError(capped([Diagnostic("E-IMPORT", x.message, JsonLocation(file, x.path), x.hint)
                                 for x in problems]))


_STAND_IN: dict[str, Any] = {"int": 1, "bool": False, "array": [], "object": {}, "securestring": "x", "string": "x"}


class MissingParameter(ArmError):
    """A parameter the template uses that has no value (``kind``: its declared type, lower case)."""

    def __init__(self, path: str, key: str, kind: str) -> None:
        super().__init__(path, f"parameter '{key}' has no defaultValue and no value was given",
                         f"pass --param {key}=VALUE or --parameters FILE")
        self.key = key
        self.kind = kind


class ArmErrors(Exception):
    """Several refusals at once (every parameter problem of a template in one run)."""

    def __init__(self, errors: list[ArmError]) -> None:
        super().__init__(f"{len(errors)} problems")
        self.errors = errors


def _parameter_problems(decls: dict[str, Any], ctx: Context) -> list[ArmError]:
    """Every parameter given a value of the wrong type, found before anything is expanded (so one run names them
    all, not one per run)."""
    out: list[ArmError] = []
    for key in decls:
        if key not in ctx.params:
            continue
        try:
            _f_parameters([key], ctx, f"$.parameters.{key}")
        except ArmError as e:
            out.append(e)
        except (ValueError, TypeError) as e:
            out.append(ArmError(f"$.parameters.{key}", str(e)))
    return out


def _collect(data: Any, file: str, opts: ArmOptions, given: dict[str, Any], regions: dict[str, AzureRegion],
             out: Collected) -> None:
    if not isinstance(data, dict):
        raise ArmError("$", "an ARM template must be a JSON object")
    if not isinstance(data.get("resources"), list):
        hint = "this looks like a REST request body, not a deployment template; VM listings (az vm / az vmss " \
            "output) are imported with 'wavegate import rest'" if "properties" in data or "location" in data else None
        raise ArmError("$", "not an ARM template: no 'resources' list", hint)
    decls = data.get("parameters") or {}
    if not isinstance(decls, dict):
        raise ArmError("$.parameters", "parameters must be an object")
    params: dict[str, Any] = {}
    for k, v in given.items():
        key = next((d for d in decls if d.lower() == k.lower()), None)
        if key is not None:
            params[key] = v
    ctx = Context(data, params, opts.location, opts.subscription)
    problems = _parameter_problems(decls, ctx)
    if problems:
        raise ArmErrors(problems)
    instances: list[_Instance] = []
    _expand(data["resources"], "$.resources", ctx, None, instances)
    types = [inst.rtype for inst in instances]
    for inst, t in zip(instances, types, strict=True):
        if t == DEPLOYMENT:
            raise ArmError(inst.path, "nested deployments (Microsoft.Resources/deployments) are not imported",
                           "import the nested template on its own")

    def where(inst: _Instance) -> JsonLocation:
        return JsonLocation(file, inst.path)

    subscription = opts.subscription or DEFAULT_SUBSCRIPTION
    vm_by_name: dict[str, VMRecord] = {}
    vmss_members: dict[str, list[VMRecord]] = {}
    avset_info: dict[str, tuple[int, int]] = {}
    avset_count: dict[str, int] = {}
    pending_avset: list[tuple[VMRecord, str, str]] = []
    pending_flex: list[tuple[VMRecord, str, str]] = []
    uniform: set[str] = set()  # names of scale-set instances made from a capacity (not VM resources)

    for inst, t in zip(instances, types, strict=True):
        if t == AVSET:
            name = _name(inst)
            loc = _location(inst, regions)
            ud = _int_field(inst, ("properties", "platformUpdateDomainCount"), DEFAULT_AVSET_UPDATE_DOMAINS, out,
                            f"availability set '{name}' gives no platformUpdateDomainCount; assumed "
                            f"{DEFAULT_AVSET_UPDATE_DOMAINS} (Azure's default)")
            fd = _int_field(inst, ("properties", "platformFaultDomainCount"), DEFAULT_AVSET_FAULT_DOMAINS, out,
                            f"availability set '{name}' gives no platformFaultDomainCount; assumed "
                            f"{DEFAULT_AVSET_FAULT_DOMAINS} (Azure's default)")
            avset_info[name] = (ud, fd)
            out.availability_sets.append(SetRecord(name, loc, where(inst)))
        elif t == VMSS:
            name = _name(inst)
            loc = _location(inst, regions)
            zones = _zones(inst, loc, regions)
            cap, cpath = walk(inst.node, inst.path, inst.ctx, "sku", "capacity")
            orchestration, _ = walk(inst.node, inst.path, inst.ctx, "properties", "orchestrationMode")
            if cap is None and isinstance(orchestration, str) and orchestration.lower() == "flexible":
                cap = 0  # a Flexible set without a capacity holds only the VMs that name it
            if isinstance(cap, str) and cap.isdigit():
                cap = int(cap)
            if not isinstance(cap, int) or isinstance(cap, bool) or not 0 <= cap <= MAX_COPY:
                raise ArmError(cpath, f"scale set '{name}': sku.capacity must be an int from 0 to {MAX_COPY}, "
                               f"got {json.dumps(cap)}")
            mode, mpath = walk(inst.node, inst.path, inst.ctx, "properties", "upgradePolicy", "mode")
            if mode is None:
                mode = "Manual"
                out.note(f"scale set '{name}' gives no upgradePolicy.mode; assumed Manual (Azure's default)")
            if not isinstance(mode, str) or mode.lower() not in ("automatic", "rolling", "manual"):
                raise ArmError(mpath, f"upgradePolicy.mode must be Automatic, Rolling or Manual, got {json.dumps(mode)}")
            fdc, _ = walk(inst.node, inst.path, inst.ctx, "properties", "platformFaultDomainCount")
            fd_count = fdc if isinstance(fdc, int) and not isinstance(fdc, bool) and fdc > 0 else None
            exts = _profile_extensions(inst, file)
            out.scale_sets.append(SetRecord(name, loc, where(inst), mode.lower()))
            if cap:
                out.note(f"scale-set instances are named <scale set>_<i>, zones round-robin, update domain = i mod "
                         f"{opts.update_domains} (an assumption: the template cannot say; see docs/import.md)")
            members = vmss_members.setdefault(name.lower(), [])
            for i in range(cap):
                vm = VMRecord(
                    name=f"{name}_{i}", region=loc, where=where(inst), zone=zones[i % len(zones)] if zones else None,
                    scale_set=name, update_domain=i % opts.update_domains,
                    fault_domain=i % fd_count if fd_count else None, subscription=subscription,
                    tags=_tags(inst), extensions=[_copy_ext(e) for e in exts],
                )
                members.append(vm)
                uniform.add(vm.name.lower())
                _add_vm(vm, vm_by_name, out)
        elif t == VM:
            name = _name(inst)
            loc = _location(inst, regions)
            zones = _zones(inst, loc, regions)
            if len(zones) > 1:
                raise ArmError(f"{inst.path}.zones", f"VM '{name}' lists {len(zones)} zones; a VM sits in one")
            vm = VMRecord(name=name, region=loc, where=where(inst), zone=zones[0] if zones else None,
                          subscription=subscription, tags=_tags(inst))
            avid, apath = walk(inst.node, inst.path, inst.ctx, "properties", "availabilitySet", "id")
            if avid is not None:
                if not isinstance(avid, str) or not avid.strip("/"):
                    raise ArmError(apath, f"availabilitySet.id must be a resource id, got {json.dumps(avid)}")
                pending_avset.append((vm, avid.rstrip("/").split("/")[-1], apath))
            ssid, spath = walk(inst.node, inst.path, inst.ctx, "properties", "virtualMachineScaleSet", "id")
            if ssid is not None:
                if not isinstance(ssid, str) or not ssid.strip("/"):
                    raise ArmError(spath, f"virtualMachineScaleSet.id must be a resource id, got {json.dumps(ssid)}")
                if avid is not None:
                    raise ArmError(spath, f"VM '{name}' names both an availability set and a scale set")
                fdv, fpath = walk(inst.node, inst.path, inst.ctx, "properties", "platformFaultDomain")
                if fdv is not None and (not isinstance(fdv, int) or isinstance(fdv, bool) or fdv < 0):
                    raise ArmError(fpath, f"platformFaultDomain must be a non-negative int, got {json.dumps(fdv)}")
                vm.fault_domain = fdv
                pending_flex.append((vm, ssid.rstrip("/").split("/")[-1], spath))
            _add_vm(vm, vm_by_name, out)
    # Availability-set membership: index k within the set, in template order (copy loops in index order).
    known_sets = {n.lower(): n for n in avset_info}
    for vm, ref, apath in pending_avset:
        set_name = known_sets.get(ref.lower())
        if set_name is None:
            raise ArmError(apath, f"VM '{vm.name}' references availability set '{ref}', which this template does not "
                           "define", "import the template that defines it in the same run")
        pos = avset_count.get(set_name, 0)
        avset_count[set_name] = pos + 1
        ud, fd = avset_info[set_name]
        vm.availability_set, vm.update_domain, vm.fault_domain = set_name, pos % ud, pos % fd
    # VMs of a Flexible scale set: index k among the VMs naming the set, update domain k mod U like instances.
    flex_count: dict[str, int] = {}
    set_names = {s.name.lower(): s.name for s in out.scale_sets}
    for vm, ref, spath in pending_flex:
        ss_name = set_names.get(ref.lower())
        if ss_name is None:
            raise ArmError(spath, f"VM '{vm.name}' references scale set '{ref}', which this template does not define",
                           "import the template that defines it in the same run")
        pos = len(vmss_members[ss_name.lower()]) + flex_count.get(ss_name, 0)
        flex_count[ss_name] = flex_count.get(ss_name, 0) + 1
        vm.scale_set, vm.update_domain = ss_name, pos % opts.update_domains
        out.note(f"VMs of a Flexible scale set get update domain k mod {opts.update_domains} by their order in the "
                 "template (an assumption; see docs/import.md)")
    # Child extension resources, after every VM and scale set is known.
    for inst, t in zip(instances, types, strict=True):
        if t not in (VM_EXT, VMSS_EXT):
            continue
        full = _name(inst)
        if inst.parent_name is not None and "/" not in full:
            parent, ext_name = inst.parent_name, full
        else:
            if full.count("/") != 1:
                raise ArmError(f"{inst.path}.name", f"a child extension's name must be '<parent>/<extension>', "
                               f"got '{full}'")
            parent, ext_name = full.split("/")
        ext = _extension(inst.node, inst.path, inst.ctx, ext_name, file)
        if t == VM_EXT:
            target = vm_by_name.get(parent.lower())
            if target is None or target.name.lower() in uniform:
                raise ArmError(f"{inst.path}.name", f"extension '{ext_name}' belongs to VM '{parent}', which this "
                               "template does not define")
            targets = [target]
        else:
            if parent.lower() not in vmss_members:
                raise ArmError(f"{inst.path}.name", f"extension '{ext_name}' belongs to scale set '{parent}', which "
                               "this template does not define")
            targets = vmss_members[parent.lower()]
        for vm in targets:
            if any(e.name == ext_name for e in vm.extensions):
                raise ArmError(f"{inst.path}.name", f"VM '{vm.name}' already has an extension named '{ext_name}'")
            vm.extensions.append(_copy_ext(ext))


def _add_vm(vm: VMRecord, table: dict[str, VMRecord], out: Collected) -> None:
    other = table.get(vm.name.lower())
    if other is not None:
        raise ArmError(vm.where.path, f"VM name '{vm.name}' is used twice (also at {other.where.path})")
    table[vm.name.lower()] = vm
    out.vms.append(vm)


def _copy_ext(e: ExtensionRecord) -> ExtensionRecord:
    return ExtensionRecord(e.name, e.publisher, e.type, e.version, e.enable_automatic_upgrade,
                           e.auto_upgrade_minor_version, e.where)


def _name(inst: _Instance) -> str:
    name, path = walk(inst.node, inst.path, inst.ctx, "name")
    if not isinstance(name, str) or not name:
        raise ArmError(path, f"resource name must be a non-empty string, got {json.dumps(name)}")
    return name


def _location(inst: _Instance, regions: dict[str, AzureRegion]) -> str:
    loc, path = walk(inst.node, inst.path, inst.ctx, "location")
    if loc is None:
        if inst.ctx.location is None:
            raise ArmError(path, "resource has no location", "pass --location REGION")
        loc = inst.ctx.location
    try:
        return region_of(loc, JsonLocation("", path), regions)
    except InputError as e:
        d = e.diagnostics[0]
        raise ArmError(path, d.message, d.hint) from None


def _zones(inst: _Instance, region: str, regions: dict[str, AzureRegion]) -> list[str]:
    zones, path = walk(inst.node, inst.path, inst.ctx, "zones")
    if zones is None:
        return []
    if not isinstance(zones, list):
        raise ArmError(path, f"zones must be a list, got {json.dumps(zones)}")
    out = []
    have = regions[region].zones
    for i, z in enumerate(zones):
        z = resolve(z, f"{path}[{i}]", inst.ctx)
        z = str(z) if isinstance(z, int) and not isinstance(z, bool) else z
        if not isinstance(z, str) or z not in {str(n) for n in range(1, have + 1)}:
            what = f"zones 1-{have}" if have else "no availability zones"
            raise ArmError(f"{path}[{i}]", f"zone {json.dumps(z)} but region '{region}' has {what}")
        out.append(z)
    return out


def _tags(inst: _Instance) -> dict[str, str]:
    tags, path = walk(inst.node, inst.path, inst.ctx, "tags")
    if not isinstance(tags, dict):
        return {}
    out = {}
    for k, v in tags.items():
        v = resolve(v, f"{path}.{k}", inst.ctx)
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            out[k] = str(v)
    return out


def _int_field(inst: _Instance, keys: tuple[str, ...], default: int, out: Collected, note: str) -> int:
    value, path = walk(inst.node, inst.path, inst.ctx, *keys)
    if value is None:
        out.note(note)
        return default
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ArmError(path, f"{keys[-1]} must be a positive int, got {json.dumps(value)}")
    return value


def _profile_extensions(inst: _Instance, file: str) -> list[ExtensionRecord]:
    profile, ppath = walk(inst.node, inst.path, inst.ctx, "properties", "virtualMachineProfile", "extensionProfile")
    if profile is None:
        return []
    if not isinstance(profile, dict):
        raise ArmError(ppath, "extensionProfile must be an object")
    if "copy" in profile:
        raise ArmError(f"{ppath}.copy", "property copy loops in extensionProfile are not supported")
    exts, epath = walk(profile, ppath, inst.ctx, "extensions")
    if exts is None:
        return []
    if not isinstance(exts, list):
        raise ArmError(epath, "extensions must be a list")
    out: list[ExtensionRecord] = []
    for i, node in enumerate(exts):
        name, npath = walk(node, f"{epath}[{i}]", inst.ctx, "name")
        if not isinstance(name, str) or not name:
            raise ArmError(npath, f"extension name must be a non-empty string, got {json.dumps(name)}")
        if any(e.name == name for e in out):
            raise ArmError(npath, f"two extensions named '{name}'")
        out.append(_extension(node, f"{epath}[{i}]", inst.ctx, name, file))
    return out


def _extension(node: Any, path: str, ctx: Context, name: str, file: str) -> ExtensionRecord:
    props, ppath = walk(node, path, ctx, "properties")
    if not isinstance(props, dict):
        raise ArmError(ppath, f"extension '{name}' has no properties object")
    values: dict[str, str] = {}
    for key in ("publisher", "type"):
        v, vpath = walk(props, ppath, ctx, key)
        if not isinstance(v, str) or not v:
            raise ArmError(vpath, f"extension '{name}': {key} must be a non-empty string, got {json.dumps(v)}")
        values[key] = v
    ver, vpath = walk(props, ppath, ctx, "typeHandlerVersion")
    try:
        version = check_version(ver, JsonLocation(file, vpath), f"extension '{name}' typeHandlerVersion")
    except InputError as e:
        raise ArmError(vpath, e.diagnostics[0].message, e.diagnostics[0].hint) from None
    flags: dict[str, bool] = {}
    for key in ("enableAutomaticUpgrade", "autoUpgradeMinorVersion"):
        v, fpath = walk(props, ppath, ctx, key)
        b = False if v is None else as_bool(v)
        if b is None:
            raise ArmError(fpath, f"extension '{name}': {key} must be a bool, got {json.dumps(v)}")
        flags[key] = b
    return ExtensionRecord(name, values["publisher"], values["type"], version, flags["enableAutomaticUpgrade"],
                           flags["autoUpgradeMinorVersion"], JsonLocation(file, path))


# ----------------------------------------------------------------------------------------------------------------
# Entry point


def parse_param_assignments(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError([Diagnostic("E-USAGE", f"--param expects NAME=VALUE, got '{item}'")])
        out[key.strip()] = value
    return out


def import_arm(templates: list[Path], opts: ArmOptions) -> ImportResult:
    """Import ARM templates into one validated fleet; InputError (file, JSON path, reason) when refused."""
    regions = azure_regions()
    location = option_region(opts.location, regions)
    opts = ArmOptions(location, opts.subscription, opts.params, opts.parameters_file, opts.update_domains,
                      opts.catalog)
    given: dict[str, Any] = read_parameters_file(opts.parameters_file) if opts.parameters_file else {}
    given.update(opts.params)
    docs = [(str(p), read_json(p, "template")) for p in templates]
    declared = {k.lower() for _, d in docs if isinstance(d, dict) and isinstance(d.get("parameters"), dict)
                for k in d["parameters"]}
    unknown = sorted(k for k in given if k.lower() not in declared)
    if unknown:
        diags = []
        for k in unknown:
            close = closest(k.lower(), sorted(declared))
            hint = f"did you mean '{close}'?" if close else "no template declares it"
            diags.append(Diagnostic("E-IMPORT", f"parameter '{k}' is given but no template declares it", None, hint))
        raise InputError(diags)
    catalog = load_catalog(opts.catalog)
    out = Collected()
    seen: dict[str, str] = {}
    for file, data in docs:
        before = len(out.vms)
        collect_template(data, file, opts, given, regions, out)
        for vm in out.vms[before:]:
            if vm.name.lower() in seen:
                raise InputError([Diagnostic("E-IMPORT", f"VM name '{vm.name}' is also defined in {seen[vm.name.lower()]}",
                                             vm.where)])
            seen[vm.name.lower()] = file
    return assemble(out, catalog, str(opts.catalog) if opts.catalog else None, regions)
