"""AST → checked :class:`dsl.policy.Policy`: names, types and units, ranges, scopes, attributes, merging.

The checker never stops at the first problem: every statement is checked and every diagnostic kept.  A policy is
returned only when no error was found (warnings may accompany it).  ``extends`` chains arrive here already read and
parsed (``dsl.loader``), child first; the checker merges them: parent statements first, a child statement with the
same name replaces the parent's in place, a child ``param`` overrides the parent's default everywhere.

One module per job: ``values`` (literals, params, types), ``names`` (scopes, units, regions, geographies),
``predicates`` (``where``), ``limits`` (``at most``), ``rules``, ``preferences``, ``gates``, ``claims`` (theorem
claims), ``versions`` and ``extensions`` (selectors), ``statements`` (the dispatch), ``files`` (one file's header,
extends and params), ``merge`` (a chain), ``lints`` (E214, W301), ``orders`` (extension order cycles) and
``vacuity`` (W306).  The names below are what the loader and tests use.
"""

from __future__ import annotations

from dsl.checker.files import FileResult, scan_file
from dsl.checker.lints import check_single_valued, implied_warnings
from dsl.checker.merge import merge_items, merge_params
from dsl.checker.orders import check_extension_orders
from dsl.checker.statements import Category, Item, convert_items
from dsl.checker.vacuity import never_applies, unsatisfiable
from dsl.checker.values import TV, did_you_mean, ir_value, literal
from dsl.checker.versions import versions_of
from dsl.codes import LANGUAGE_TITLES

# Every code the checker and parser can emit, with its one-line title (the registry: dsl.codes).
CODES: dict[str, str] = dict(LANGUAGE_TITLES)

__all__ = [
    "CODES",
    "TV",
    "Category",
    "FileResult",
    "Item",
    "check_extension_orders",
    "check_single_valued",
    "convert_items",
    "did_you_mean",
    "implied_warnings",
    "ir_value",
    "literal",
    "merge_items",
    "merge_params",
    "never_applies",
    "scan_file",
    "unsatisfiable",
    "versions_of",
]
