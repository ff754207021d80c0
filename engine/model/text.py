"""How the policy's IR reads in messages: filters, amounts, lists of numbers (one rendering for every stage)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from dsl.policy import And, Compare, Count, ExtensionSelector, HasTag, Not, Percent, Predicate, TrueP, Value


def predicate_text(pred: Predicate) -> str:
    """A readable rendering of a ``where`` filter: ``vm.tags.env == "prod"``, ``not (has tag canary)``."""
    if isinstance(pred, TrueP):
        return "true"
    if isinstance(pred, Compare):
        right = pred.right
        r = "(" + ", ".join(value_text(x) for x in right) + ")" if isinstance(right, tuple) else value_text(right)
        return f"{pred.left} {pred.op} {r}"
    if isinstance(pred, HasTag):
        return f"has tag {pred.key}"
    if isinstance(pred, Not):
        return f"not ({predicate_text(pred.item)})"
    if isinstance(pred, And):
        return " and ".join(f"({predicate_text(p)})" for p in pred.items)
    return " or ".join(f"({predicate_text(p)})" for p in pred.items)


def value_text(v: Value) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def amount_text(amount: Count | Percent, size: int) -> str:
    """``max(1, floor(20% x 9))`` for a percentage of a group of 9; ``3`` for a count."""
    if isinstance(amount, Count):
        return str(amount.n)
    inner = f"{amount.rounding}({amount} x {size})"
    return f"max({amount.minimum}, {inner})" if amount.minimum else inner


def nums(xs: Iterable[int]) -> str:
    return ", ".join(str(x) for x in xs)


def selector_text(sel: ExtensionSelector) -> str:
    """``extension type "AzureMonitorLinuxAgent"``: the fields an extension selector gives."""
    parts = [f'{k} "{v}"' for k, v in (("publisher", sel.publisher), ("type", sel.type), ("name", sel.name)) if v]
    return "extension " + (" ".join(parts) or "(any)")
