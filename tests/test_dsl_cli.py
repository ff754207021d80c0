"""`wavegate check` and `wavegate fmt`: exit codes, golden output, JSON, atomic rewrites."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from golden import assert_golden
from typer.testing import CliRunner

from engine.cli import app

ROOT = Path(__file__).parent.parent
CORPUS = Path(__file__).parent / "corpus"
GOLDEN = CORPUS / "cli"
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.output


def test_specs_check_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out = run("check", "specs/azure-default.wg", "specs/team-strict.wg", "specs/ring-ordered.wg", "proofs")
    assert code == 0, out
    assert out.strip().endswith("— ok")


def test_specs_are_formatted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out = run("fmt", "--check", "specs", "proofs")
    assert code == 0, out


@pytest.mark.parametrize(
    "name", ["e205_unknown_scope", "e102_unclosed_brace", "e208_count_where_duration", "multi_errors_one_file"]
)
def test_check_golden_output(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)
    code, out = run("check", "--root", ".", f"invalid/{name}.wg")
    assert code == 1
    golden = GOLDEN / f"check_{name}.txt"
    assert_golden(golden, out)


def test_done_when_broken_copies_are_refused(tmp_path: Path) -> None:
    """Issue 2's "done when": a typo, an out-of-range percent, a wrong unit, a missing brace."""
    src = (ROOT / "specs" / "azure-default.wg").read_text()
    cases = {
        "typo.wg": (src.replace("per region per wave", "per regoin per wave"), "E205", "did you mean `region`"),
        "percent.wg": (src.replace("param batch_cap = 20%", "param batch_cap = 120%"), "E209", "between 0% and 100%"),
        "unit.wg": (src.replace("param health_wait = 5m", "param health_wait = 5"), "E208", "add a unit"),
        "brace.wg": (src.rstrip().removesuffix("}"), "E102", "close it with `}`"),
    }
    for name, (text, code, hint) in cases.items():
        f = tmp_path / name
        f.write_text(text)
        exit_code, out = run("check", str(f))
        assert exit_code == 1, out
        assert f"{f}:" in out and f"error[{code}]" in out and hint in out, out
        line = out.split("\n")[0]
        assert line.split(":")[1].isdigit() and line.split(":")[2].isdigit()  # file:line:col


def test_missing_file_is_exit_2(tmp_path: Path) -> None:
    code, out = run("check", str(tmp_path / "nope.wg"))
    assert code == 2
    assert "E001" in out


def test_json_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)
    code, out = run("check", "--root", ".", "--format", "json", "invalid/e205_unknown_scope.wg", "valid/gates.wg")
    assert code == 1
    doc = json.loads(out)
    assert doc["errors"] == 1 and doc["exit_code"] == 1
    assert [f["ok"] for f in doc["files"]] == [False, True]
    (d,) = doc["diagnostics"]
    assert d["code"] == "E205" and d["location"]["line"] == 2 and d["hint"] == "did you mean `region`?"


def test_fmt_rewrites_check_and_diff(tmp_path: Path) -> None:
    f = tmp_path / "iso.wg"
    shutil.copy(CORPUS / "valid" / "iso_durations_unformatted.wg", f)
    before = f.read_text()
    code, out = run("fmt", "--check", str(tmp_path))
    assert code == 1 and "would reformat" in out
    code, out = run("fmt", "--diff", str(f))
    assert code == 1 and "-param wait = PT5M" in out and "+param wait = 5m" in out
    assert f.read_text() == before  # --check and --diff change nothing
    code, out = run("fmt", str(f))
    assert code == 0 and "reformatted" in out
    assert f.read_text() != before
    code, out = run("fmt", "--check", str(f))
    assert code == 0


def test_fmt_refuses_broken_files_and_writes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "a.wg"
    good.write_text("policy   a\nrule w:   at most 3 waves\n")
    bad = tmp_path / "b.wg"
    bad.write_text("policy b\nrule w at most 3 waves\n")
    code, out = run("fmt", str(tmp_path))
    assert code == 2 and "E101" in out
    assert good.read_text() == "policy   a\nrule w:   at most 3 waves\n"


def test_help_shows_examples() -> None:
    for cmd in ("check", "fmt"):
        code, out = run(cmd, "--help")
        assert code == 0 and "Example" in out


def test_strict_fails_on_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)
    code, out = run("check", "--root", ".", "invalid/w303_unused_param.wg")
    assert code == 0 and "W303" in out
    code, out = run("check", "--strict", "--root", ".", "invalid/w303_unused_param.wg")
    assert code == 1
