"""Extension version strings: parsed to integer tuples, compared part by part, missing parts counting as 0.

A version is 1 to 4 dot-separated groups of 1 to 9 ASCII digits, matched in full: no sign, no spaces, no trailing
newline (``$`` would accept one), no other Unicode digits (``\\d`` would accept "１.２").  The policy language and
the fleet, schedule, fault and import formats all read versions through this module.
"""

from __future__ import annotations

import re

VERSION_RE = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9}){0,3}")


def is_version(text: str) -> bool:
    return VERSION_RE.fullmatch(text) is not None


def parse_version(text: str) -> tuple[int, ...]:
    """"9.10.2" -> (9, 10, 2, 0); raises ValueError on anything that is not 1-4 dot-separated integers."""
    if not is_version(text):
        raise ValueError(f"not a version: {text!r} (expected 1 to 4 dot-separated integers such as 9.5 or 1.2.3.4)")
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (4 - len(parts)))


def major(text: str) -> int:
    return parse_version(text)[0]


def compare(a: str, b: str) -> int:
    pa, pb = parse_version(a), parse_version(b)
    return (pa > pb) - (pa < pb)
