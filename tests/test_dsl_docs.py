"""The examples of docs/language.md are the language: every statement in its code blocks parses and checks (a
theorem as a claim, the rest in a policy), so the page cannot drift from the grammar and the checker."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dsl.diagnostics import render_all
from dsl.loader import check_source

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```\n(.*?)^```", DOC, flags=re.DOTALL | re.MULTILINE)
STATEMENT = re.compile(r"^(rule|prefer|gate|theorem) +(\w+): +(.*?)(?:\s+# .*)?$")
EXAMPLES = [m.groups() for block in BLOCKS for line in block.split("\n") if (m := STATEMENT.match(line))]


def test_the_doc_has_examples_of_every_statement_kind() -> None:
    assert {kind for kind, _, _ in EXAMPLES} == {"rule", "prefer", "gate", "theorem"}
    assert len(EXAMPLES) >= 45


@pytest.mark.parametrize(("kind", "name", "body"), EXAMPLES, ids=[f"{k}-{n}" for k, n, _ in EXAMPLES])
def test_every_example_checks(kind: str, name: str, body: str) -> None:
    # Params the examples name, declared so that each example checks on its own.
    params = ("param batch_cap = 20%\nparam unhealthy_cap = 20%\nparam upgraded_unhealthy_cap = 20%\n"
              "param health_wait = 5m\nparam retry_after = 3d\nparam prod_regions = [\"eastus\"]\n")
    if kind == "theorem":
        text = f'theorems about "../specs/azure-default.wg"\ntheorem {name}: {body}\n'
        res = check_source(text, str(ROOT / "proofs" / "doc.wg"), ROOT)
    else:
        used = "".join(line for line in params.splitlines(keepends=True) if line.split()[1] in body)
        res = check_source(f"policy p\n{used}{kind} {name}: {body}\n", "doc.wg", ROOT)
    errors = [d for d in res.diagnostics if d.is_error]
    assert not errors, render_all(errors, res.sources)
