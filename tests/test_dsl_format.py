"""Formatter properties: parse(format(x)) == parse(x), format is idempotent, comments survive; and from the grammar
(hypothesis.extra.lark) and corpus mutations: every input yields a policy or diagnostics, never an exception."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

from dsl.formatter import format_text
from dsl.loader import Checked, check_source
from dsl.parser import decode, lark_parser, parse_text

ROOT = Path(__file__).parent.parent
FILES = sorted((ROOT / "specs").glob("*.wg")) + sorted((ROOT / "proofs").glob("*.wg"))
FILES += sorted((Path(__file__).parent / "corpus").rglob("*.wg"))


def _texts() -> list[tuple[str, str]]:
    out = []
    for f in FILES:
        text, _ = decode(f.read_bytes(), f.name)
        if text is not None:
            out.append((f.name, text))
    return out


TEXTS = _texts()


def outcome_holds(res: Checked) -> None:
    """Either a checked result and no errors, or no result and at least one error."""
    if res.ok:
        assert res.policy is not None
        assert res.kind != "theorems" or res.theorems is not None
    else:
        assert res.policy is None and res.theorems is None
        assert any(d.is_error for d in res.diagnostics)


def roundtrip_holds(text: str) -> None:
    tree, _ = parse_text(text, "f.wg")
    if tree is None:
        formatted, diags = format_text(text, "f.wg")
        assert formatted is None and diags
        return
    once, diags = format_text(text, "f.wg")
    assert once is not None and not diags
    again, _ = parse_text(once, "f.wg")
    assert again == tree, f"format changed the meaning of:\n{text}\n---\n{once}"
    assert format_text(once, "f.wg")[0] == once, "format is not idempotent"
    # Comments survive: every comment's text is still in the output.
    for c in tree.comments:
        assert c.text in once


def test_roundtrip_on_every_file() -> None:
    parsed = 0
    for _, text in TEXTS:
        roundtrip_holds(text)
        parsed += parse_text(text, "f.wg")[0] is not None
    assert parsed >= 20


def test_comments_survive_in_place() -> None:
    text = (
        "# head\npolicy p   # after header\n\n# before rule\nrule a:\n  at most 3 waves  # end\n"
        "versions {\n  # inside\n  only enabled # tail\n  # before close\n}\n# last\n"
    )
    out, _ = format_text(text, "c.wg")
    assert out == (
        "# head\npolicy p  # after header\n\n# before rule\nrule a: at most 3 waves  # end\n"
        "versions {\n  # inside\n  only enabled  # tail\n  # before close\n}\n# last\n"
    )


def test_canonical_layout() -> None:
    text = 'policy   p\nparam w=PT1H30M\nrule  a :at most 20 % of an  scale_set per wave\n'
    out, diags = format_text(text, "c.wg")
    assert diags == [] or out is None
    text = "policy   p\nparam w = PT1H30M\nrule  a :   at most 20%(ceil,at least 2)of the scale_set per wave\n"
    out, diags = format_text(text, "c.wg")
    assert out == "policy p\nparam w = 90m\nrule a: at most 20% (ceil, at least 2) of a scale_set per wave\n"


NAMES = st.sampled_from(
    ["wave", "zone", "region", "scale_set", "availability_set", "geography", "VMs", "vm", "phase", "cap", "x"]
)
EXPLICIT = {
    "NAME": NAMES,
    "COMMENT": st.just("# c"),
    "STRING": st.sampled_from(['"eastus"', '"a b"', '""', '"q\\"x"', '"Europe"']),
}
GRAMMAR = from_lark(lark_parser(), start="start", explicit=EXPLICIT)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(GRAMMAR)
def test_generated_programs_never_crash_and_roundtrip(text: str) -> None:
    outcome_holds(check_source(text, "gen.wg", "/nonexistent-root"))
    roundtrip_holds(text)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.integers(min_value=0, max_value=len(TEXTS) - 1), st.randoms(use_true_random=False), st.integers(1, 4))
def test_mutated_corpus_never_crashes(index: int, rng: random.Random, edits: int) -> None:
    text = TEXTS[index][1]
    for _ in range(edits):
        i = rng.randrange(len(text) + 1)
        op = rng.randrange(4)
        if op == 0:
            text = text[:i] + text[i + rng.randrange(1, 12):]
        elif op == 1:
            text = text[:i] + rng.choice(["(", ")", "{", "}", '"', ":", "%", "5m", " at most ", "\n", "rule "]) + text[i:]
        elif op == 2:
            text = text[:i]
        else:
            lines = text.split("\n")
            rng.shuffle(lines)
            text = "\n".join(lines)
    outcome_holds(check_source(text, "mut.wg", "/nonexistent-root"))
    roundtrip_holds(text)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(data: bytes) -> None:
    text, diags = decode(data, "b.wg")
    if text is None:
        assert diags
        return
    outcome_holds(check_source(text, "b.wg", "/nonexistent-root"))
