"""The diagnostic-code registry (dsl/codes.py): every code used in dsl/ or engine/ is registered, every registered
code is used somewhere and documented on its page (a `### CODE` heading in docs/language.md for the language's, a
row of the code table in docs/formats.md for the engine's)."""

from __future__ import annotations

import re
from pathlib import Path

from dsl import codes
from dsl.checker import CODES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for p in [*ROOT.glob("dsl/**/*.py"), *ROOT.glob("engine/**/*.py")] if p.name != "codes.py")
# A code literal: "E205", "W301", "E-FLEET".
LITERAL = re.compile(r"""["']((?:[EW]\d{3})|(?:[EW]-[A-Z]+(?:-[A-Z]+)*))["']""")


def _used() -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for path in SOURCES:
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            for code in LITERAL.findall(line):
                used.setdefault(code, []).append(f"{path.relative_to(ROOT)}:{n}")
    return used


def test_every_code_used_is_registered() -> None:
    unknown = {code: where for code, where in _used().items() if code not in codes.REGISTRY}
    assert not unknown, f"codes used but not registered in dsl/codes.py: {unknown}"


def test_every_registered_code_is_used() -> None:
    unused = set(codes.REGISTRY) - set(_used())
    assert not unused, f"registered codes nothing emits: {sorted(unused)}"


def test_language_codes_have_a_heading_in_the_language_doc() -> None:
    text = (ROOT / codes.LANGUAGE_DOC).read_text(encoding="utf-8")
    documented = set(re.findall(r"^### ([EW]\d{3})\b", text, flags=re.MULTILINE))
    assert documented == set(codes.LANGUAGE_CODES)


def test_engine_codes_have_a_row_on_their_page() -> None:
    for code, info in codes.ENGINE_CODES.items():
        text = (ROOT / info.doc).read_text(encoding="utf-8")
        assert re.search(rf"^\| `{re.escape(code)}` \|", text, flags=re.MULTILINE), f"{code} is not in {info.doc}"
    table = (ROOT / codes.ENGINE_DOC).read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([EW]-[A-Z]+(?:-[A-Z]+)*)` \|", table, flags=re.MULTILINE))
    assert rows == set(codes.ENGINE_CODES), "the code table lists codes the registry does not"


def test_every_code_has_a_title_and_the_checker_exports_the_language_codes() -> None:
    assert all(info.title for info in codes.REGISTRY.values())
    assert codes.title("W307") == "unknown Azure geography"
    assert set(CODES) == set(codes.LANGUAGE_CODES)
    assert not set(codes.LANGUAGE_CODES) & set(codes.ENGINE_CODES)


def test_the_pattern_finds_codes() -> None:
    # The scan above must not pass vacuously: it sees the codes of a known call site in each layer.
    used = _used()
    assert any(w.startswith("dsl/checker/") for w in used["E205"])
    assert any(w.startswith("engine/model/fleet.py") for w in used["E-FLEET"])
