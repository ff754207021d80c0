"""Bundled policies by name (issue 11, item 6): `extends "wavegate:azure-default"` from any folder and from an
installed copy; `--root` on every command that reads policies; bundled files shown as wavegate:NAME.wg."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from dsl import bundled
from dsl.loader import check_file, load_policy
from engine.cli import app

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "tests" / "fixtures" / "fleets" / "zonal-3-zones.json"
runner = CliRunner()
TEAM = 'policy team\nextends "wavegate:azure-default"\nparam batch_cap = 10%\n'


@pytest.fixture()
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # a folder with no specs/ of its own
    (tmp_path / "team.wg").write_text(TEAM)
    return tmp_path


def test_extends_the_bundled_default_from_any_folder(elsewhere: Path) -> None:
    policy = load_policy(elsewhere / "team.wg")
    parent = load_policy(ROOT / "specs" / "azure-default.wg")
    assert policy.files[1] == str(bundled.default_folder() / "azure-default.wg")  # type: ignore[operator]
    assert {r.name for r in policy.rules} == {r.name for r in parent.rules}
    assert policy.params["batch_cap"] != parent.params["batch_cap"]
    res = runner.invoke(app, ["plan", "--spec", "team.wg", "--fleet", str(FLEET)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("ref", ["wavegate:azure-default", "wavegate:azure-default.wg"])
def test_name_with_or_without_suffix(elsewhere: Path, ref: str) -> None:
    (elsewhere / "t.wg").write_text(f'policy t\nextends "{ref}"\n')
    assert check_file(elsewhere / "t.wg").ok


@pytest.mark.parametrize("ref,word", [("wavegate:azure-defualt", "did you mean `wavegate:azure-default`"),
                                      ("wavegate:../specs/azure-default", "not a bundled policy name"),
                                      ("wavegate:/etc/passwd", "not a bundled policy name"),
                                      ("wavegate:", "not a bundled policy name")])
def test_unknown_or_escaping_names_are_refused(elsewhere: Path, ref: str, word: str) -> None:
    (elsewhere / "t.wg").write_text(f'policy t\nextends "{ref}"\n')
    res = check_file(elsewhere / "t.wg")
    assert [d.code for d in res.diagnostics] == ["E213"]
    text = res.diagnostics[0].message + " " + (res.diagnostics[0].hint or "")
    assert word in text and "wavegate:team-strict" in text


def test_a_bundled_policy_extending_another_stays_in_the_bundled_folder(elsewhere: Path) -> None:
    (elsewhere / "t.wg").write_text('policy t\nextends "wavegate:team-strict"\n')
    policy = load_policy(elsewhere / "t.wg", elsewhere)  # a narrow root does not stop the bundled chain
    assert [Path(f).name for f in policy.files] == ["t.wg", "team-strict.wg", "azure-default.wg"]


def test_commands_take_a_bundled_name(elsewhere: Path) -> None:
    res = runner.invoke(app, ["check", "wavegate:team-strict", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["files"][0]["ok"]
    res = runner.invoke(app, ["plan", "--spec", "wavegate:team-strict", "--fleet", str(FLEET), "--format", "json"])
    assert res.exit_code == 0, res.output


def test_rule_references_show_the_bundled_name_not_the_installed_path(elsewhere: Path) -> None:
    (elsewhere / "tight.wg").write_text('policy tight\nextends "wavegate:azure-default"\nrule w: at most 1 waves\n')
    res = runner.invoke(app, ["plan", "--spec", "tight.wg", "--fleet", str(FLEET)])
    assert res.exit_code == 1, res.output
    folder = str(bundled.default_folder())
    assert folder not in res.output and "wavegate:azure-default.wg:" in res.stderr, res.stderr
    assert str(elsewhere) not in res.output  # paths below the working folder are relative


POLICY_COMMANDS = ["check", "plan", "verify", "explain", "simulate", "risk", "prove", "diff", "report"]


@pytest.mark.parametrize("name", POLICY_COMMANDS)
def test_every_policy_command_has_root(name: str) -> None:
    group = typer.main.get_command(app)
    cmd = group.commands[name]  # type: ignore[attr-defined]
    assert any("--root" in p.opts for p in cmd.params), f"{name} has no --root"


def test_root_widens_what_extends_may_reach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.wg").write_text('policy base\nextends "wavegate:azure-default"\n')
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "t.wg").write_text('policy t\nextends "../base.wg"\n')
    args = ["plan", "--spec", "team/t.wg", "--fleet", str(FLEET)]
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "E212" in res.stderr and "--root" in res.stderr
    assert runner.invoke(app, [*args, "--root", "."]).exit_code == 0
    sched = tmp_path / "s.json"
    assert runner.invoke(app, [*args, "--root", ".", "-o", str(sched)]).exit_code == 0
    for cmd in (["verify", str(sched), "--spec", "team/t.wg", "--fleet", str(FLEET)],
                ["diff", "team/t.wg", "base.wg"],
                ["report", "--schedule", str(sched), "--spec", "team/t.wg", "--fleet", str(FLEET), "-o", "r.html"]):
        assert runner.invoke(app, cmd).exit_code == 2, cmd
        res = runner.invoke(app, [*cmd, "--root", "."])
        assert res.exit_code in (0, 1) and "E212" not in res.output, (cmd, res.output)


def _installed_copy(site: Path) -> None:
    """The wheel's layout (pyproject: package-dir maps specs/ and proofs/ into engine/bundled/), without the
    repository beside it: dsl/../specs does not exist there."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "dsl", site / "dsl", ignore=ignore)
    shutil.copytree(ROOT / "engine", site / "engine", ignore=ignore)
    shutil.copytree(ROOT / "specs", site / "engine" / "bundled" / "specs")
    shutil.copytree(ROOT / "proofs", site / "engine" / "bundled" / "proofs")


@pytest.mark.slow
def test_an_installed_copy_finds_its_bundled_specs_by_package(tmp_path: Path) -> None:
    site, work = tmp_path / "site-packages", tmp_path / "work"
    _installed_copy(site)
    work.mkdir()
    (work / "team.wg").write_text(TEAM + 'rule w: at most 1 waves\n')
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run([sys.executable, "-m", "engine.cli", "plan", "--spec", "team.wg", "--fleet", str(FLEET)],
                         cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr  # infeasible: at most 1 wave; the explanation names the rules
    assert "wavegate:azure-default.wg:" in run.stderr and str(site) not in run.stderr + run.stdout
    probe = subprocess.run([sys.executable, "-c", "from dsl.bundled import default_folder; print(default_folder())"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == str(site / "engine" / "bundled" / "specs")
