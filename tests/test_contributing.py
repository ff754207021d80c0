"""docs/CONTRIBUTING.md's module map and rule-kind table are generated from the tree and the registries: they must
be up to date (regenerate with ``python tests/module_map.py --write``), and every path the guide names must exist."""

from __future__ import annotations

import re

from module_map import DOC, MARKS, ROOT, generated, rewrite


def test_the_generated_parts_are_up_to_date() -> None:
    text = DOC.read_text(encoding="utf-8")
    for start, end in MARKS.values():
        assert start in text and end in text, f"docs/CONTRIBUTING.md lost the marker {start}"
    assert rewrite(text, generated()) == text, "docs/CONTRIBUTING.md is stale: run python tests/module_map.py --write"


def test_every_path_the_guide_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:dsl|engine|tests|bench|docs|specs|proofs)/[\w./<>-]*)`", text))
    # The walk-through's example kind (foo), wheel-only paths and dotted names are not files of the tree.
    shown = [p for p in sorted(paths) if "<" not in p and "foo" not in p and not p.startswith("engine/bundled/")]
    missing = [p for p in shown if not (ROOT / p.split(".rules")[0]).exists()]
    assert not missing, f"docs/CONTRIBUTING.md names paths that do not exist: {missing}"
