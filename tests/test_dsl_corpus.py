"""The corpus: valid files check clean and format stably; each invalid file gives its golden diagnostics.

Regenerate goldens after an intended change with ``WAVEGATE_UPDATE_GOLDEN=1 pytest tests/test_dsl_corpus.py`` and
review the diff; a missing golden fails (it is written only with that variable set).  The code registry and its
documentation are tested in tests/test_dsl_codes.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from golden import assert_golden

from dsl import policy as ir
from dsl.checker import CODES
from dsl.diagnostics import render_all
from dsl.formatter import format_text
from dsl.loader import check_file
from dsl.parser import decode, parse_text

CORPUS = Path(__file__).parent / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.wg"))
INVALID = sorted((CORPUS / "invalid").glob("*.wg"))
# Codes no corpus file can carry: a file that does not exist, and one over the size limit (built in a test).
GENERATED_ONLY = {"E001": "test_dsl_loader.py::test_missing_file", "E004": "test_dsl_loader.py::test_huge_file"}


@pytest.fixture(autouse=True)
def _in_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    # Spans name files relative to the corpus folder, so goldens do not depend on where the repo lives.
    monkeypatch.chdir(CORPUS)


def _rel(p: Path) -> str:
    return str(p.relative_to(CORPUS))


def test_corpus_is_big_enough() -> None:
    assert len(INVALID) >= 40
    assert len(VALID) >= 5


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_file_checks_clean(path: Path) -> None:
    res = check_file(_rel(path), ".")
    assert res.diagnostics == [], render_all(res.diagnostics, res.sources)
    assert res.ok
    assert res.policy is not None


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_file_is_formatted(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    formatted, diags = format_text(text, path.name)
    assert diags == [] and formatted is not None
    if "unformatted" in path.name:
        assert formatted != text
        assert format_text(formatted, path.name)[0] == formatted
        assert parse_text(formatted, "x")[0] == parse_text(text, "x")[0]
    else:
        assert formatted == text


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_file_matches_golden(path: Path) -> None:
    res = check_file(_rel(path), ".")
    assert res.diagnostics, "an invalid-corpus file must produce diagnostics"
    got = render_all(res.diagnostics, res.sources) + "\n"
    golden = path.with_suffix(".expected")
    assert_golden(golden, got)
    # The file's name says which code it is about; that code must be among the diagnostics.
    m = re.match(r"([ew]\d{3})_", path.name)
    if m:
        assert m.group(1).upper() in {d.code for d in res.diagnostics}
    if path.name.startswith("e"):
        assert res.policy is None and res.theorems is None


def test_every_code_is_exercised() -> None:
    seen: set[str] = set()
    for path in INVALID:
        seen |= {d.code for d in check_file(_rel(path), ".").diagnostics}
    missing = set(CODES) - seen - set(GENERATED_ONLY)
    assert not missing, f"codes with no corpus case: {sorted(missing)}"
    assert seen <= set(CODES), f"codes emitted but not declared: {sorted(seen - set(CODES))}"


def test_every_syntax_code_has_a_parser_path() -> None:
    # The parser's and decoder's codes are part of CODES; spot-check that decode and parse emit only those.
    for path in INVALID:
        text, diags = decode(path.read_bytes(), path.name)
        codes = {d.code for d in diags}
        if text is not None:
            codes |= {d.code for d in parse_text(text, path.name)[1]}
        assert codes <= set(CODES)


def test_every_kind_has_a_valid_corpus_case() -> None:
    # Each rule, preference, gate and claim kind of the IR is written at least once in a valid corpus file.
    seen: set[type] = set()
    for path in VALID:
        res = check_file(_rel(path), ".")
        if res.theorems is not None:
            seen |= {type(t.claim) for t in res.theorems.theorems}
        elif res.policy is not None:
            policy = res.policy
            seen |= {type(r) for r in (*policy.rules, *policy.preferences, *policy.gates, *policy.times)}
    kinds = {*ir.RULE_KINDS, *ir.PREFERENCE_KINDS, *ir.GATE_KINDS, *ir.CLAIM_KINDS}
    assert kinds <= seen, f"kinds with no valid corpus case: {sorted(k.__name__ for k in kinds - seen)}"


def test_geography_scope_and_attribute_reach_the_ir() -> None:
    policy = check_file("valid/geography.wg", ".").policy
    assert policy is not None
    rule = policy.rule("geo_batch")
    assert rule == ir.DistinctLimit("geo_batch", rule.span, limit=2, count="region", per="geography", within="phase")
    europe = policy.rule("europe_cap")
    assert isinstance(europe, ir.Capacity) and europe.of == "geography"
    assert europe.where == ir.Compare("==", ir.Attr(("region", "geography")), "Europe")


def test_extension_order_reaches_the_ir_in_policies_and_claims() -> None:
    policy = check_file("valid/extension_order.wg", ".").policy
    assert policy is not None
    assert policy.rule("monitor_first") == ir.ExtensionOrder(
        "monitor_first",
        policy.rules[0].span,
        first=ir.ExtensionSelector(type="AzureMonitorLinuxAgent"),
        second=ir.ExtensionSelector(type="DependencyAgentLinux"),
    )
    explicit = policy.rule("keyvault_first")
    assert isinstance(explicit, ir.ExtensionOrder)
    assert explicit.first == ir.ExtensionSelector(publisher="Microsoft.Azure.KeyVault", type="KeyVaultForLinux")
    assert explicit.second == ir.ExtensionSelector(name="custom-script")
    theorems = check_file("valid/theorems.wg", ".").theorems
    assert theorems is not None
    claim = next(t.claim for t in theorems.theorems if t.name == "monitor_first")
    assert isinstance(claim, ir.ExtensionOrder) and claim.second == ir.ExtensionSelector(type="DependencyAgentLinux")


def test_a_child_may_reverse_a_parents_extension_order_by_name() -> None:
    policy = check_file("valid/extension_order_child.wg", ".").policy
    assert policy is not None
    orders = [r for r in policy.rules if isinstance(r, ir.ExtensionOrder)]
    assert [(r.first.type, r.second.type) for r in orders] == [("DependencyAgentLinux", "AzureMonitorLinuxAgent")]
