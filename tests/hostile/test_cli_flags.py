"""The command line behaves like its peers (issue 11, item 7): one meaning per short flag, --version, completion,
--format text|json everywhere a result is printed (errors too), documented exit codes, summaries that say what
was scheduled, and users' strings printed as written (rich markup never interpreted)."""

from __future__ import annotations

import io
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from engine.cli import app
from engine.cli.common import progress

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from plan_support import FleetBuilder, ext

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "tests" / "fixtures" / "fleets" / "zonal-3-zones.json"
runner = CliRunner()


def commands() -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(cmd: Any, name: str) -> None:
        out[name] = cmd
        for sub, c in getattr(cmd, "commands", {}).items():
            walk(c, f"{name} {sub}".strip())

    walk(typer.main.get_command(app), "")
    return out


def test_one_meaning_per_short_flag_across_all_commands() -> None:
    meaning: dict[str, set[str]] = {}
    for name, cmd in commands().items():
        for p in cmd.params:
            longs = [o for o in (*p.opts, *p.secondary_opts) if o.startswith("--")]
            for o in (*p.opts, *p.secondary_opts):
                if o.startswith("-") and not o.startswith("--"):
                    meaning.setdefault(o, set()).update(longs or [f"{name}:{p.name}"])
    clashes = {short: sorted(longs) for short, longs in meaning.items() if len(longs) > 1}
    assert clashes == {}, clashes
    assert meaning["-f"] == {"--fleet"} and meaning["-o"] == {"--output"} and meaning["-s"] == {"--spec"}


def test_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for flag in ("--version", "-V"):
        res = runner.invoke(app, [flag])
        assert res.exit_code == 0 and res.stdout == f"wavegate {version}\n"


def test_shell_completion_is_enabled() -> None:
    opts = {o for p in commands()[""].params for o in p.opts}
    assert {"--install-completion", "--show-completion"} <= opts


RESULT_COMMANDS = ["check", "fmt", "plan", "verify", "explain", "simulate", "risk", "prove", "diff"]


@pytest.mark.parametrize("name", RESULT_COMMANDS)
def test_format_is_text_or_json_everywhere(name: str) -> None:
    fmt = next(p for p in commands()[name].params if "--format" in p.opts)
    choices = {m.value for m in fmt.type_descriptor.annotation}  # an enum: typer refuses any other word
    assert {"text", "json"} <= choices and "table" not in choices
    assert choices == {"text", "json"} or name == "prove"  # prove adds junit and sarif for CI
    assert str(getattr(fmt.default, "value", fmt.default)) == "text"


@pytest.mark.parametrize("args", [
    ["plan", "--spec", "missing.wg", "--format", "json"],
    ["verify", "missing.json", "--format", "json"],
    ["simulate", "--fleet", "missing.json", "--format", "json"],
    ["check", "missing.wg", "--format", "json"],
    ["explain", "--schedule", "missing.json", "--vm", "x", "--format", "json"],
    ["diff", "missing.wg", "other.wg", "--format", "json"],
])
def test_errors_are_json_on_stdout_when_json_is_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      args: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    doc = json.loads(res.stdout)
    assert doc["exit_code"] == 2 and doc.get("ok", False) is False
    assert "Traceback" not in res.output


def tight(tmp_path: Path) -> Path:
    spec = tmp_path / "tight.wg"
    spec.write_text('policy tight\nextends "wavegate:azure-default"\nrule w: at most 1 waves\n')
    return spec


def test_plan_json_when_infeasible_is_a_json_result(tmp_path: Path) -> None:
    res = runner.invoke(app, ["plan", "--spec", str(tight(tmp_path)), "--fleet", str(FLEET), "--format", "json"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["feasible"] is False and doc["exit_code"] == 1 and "w" in doc["conflicting_rules"]
    assert "no schedule exists" in doc["explanation"]


def test_simulate_json(tmp_path: Path) -> None:
    res = runner.invoke(app, ["simulate", "--fleet", str(FLEET), "--format", "json"])
    assert res.exit_code in (0, 3), res.output
    doc = json.loads(res.stdout)
    assert doc["exit_code"] == res.exit_code and doc["tasks"] > 0 and doc["ideal_seconds"] <= doc["duration_seconds"]


def test_check_strict_with_warnings_says_failed(tmp_path: Path) -> None:
    f = tmp_path / "w.wg"
    f.write_text('policy w\nparam unused = 3\nrule r: at most 3 waves\n')  # W303: a param never used
    loose = runner.invoke(app, ["check", str(f)])
    assert loose.exit_code == 0 and loose.stdout.rstrip().endswith("— ok")
    strict = runner.invoke(app, ["check", "--strict", str(f)])
    assert strict.exit_code == 1 and "ok" not in strict.stdout.splitlines()[-1]
    assert strict.stdout.rstrip().endswith("failed (--strict: warnings count)")


def test_fmt_diff_exits_1_when_files_would_change(tmp_path: Path) -> None:
    f = tmp_path / "a.wg"
    f.write_text("policy   a\nrule w:   at most 3 waves\n")
    res = runner.invoke(app, ["fmt", "--diff", str(f)])
    assert res.exit_code == 1 and "+rule w: at most 3 waves" in res.stdout
    assert f.read_text() == "policy   a\nrule w:   at most 3 waves\n"
    assert runner.invoke(app, ["fmt", str(f)]).exit_code == 0
    assert runner.invoke(app, ["fmt", "--diff", str(f)]).exit_code == 0
    doc = json.loads(runner.invoke(app, ["fmt", "--check", "--format", "json", str(f)]).stdout)
    assert doc["changed"] == [] and doc["exit_code"] == 0


def write(tmp_path: Path, b: FleetBuilder, name: str = "fleet.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(b.doc()))
    return path


def test_plan_summary_counts_scheduled_vms_and_skip_reasons(tmp_path: Path) -> None:
    b = FleetBuilder().region("eastus", zones=3).scale_set("web", "eastus", 6, zones=["1", "2", "3"])
    b.vm("manual", "eastus", exts=[ext(auto=False)]).vm("current", "eastus", exts=[ext(version="9.10")])
    res = runner.invoke(app, ["plan", "--fleet", str(write(tmp_path, b))])
    assert res.exit_code == 0, res.output
    line = next(x for x in res.stdout.splitlines() if x.startswith("VMs:"))
    assert line.startswith("VMs: 6 scheduled, 2 with nothing to upgrade; 2 extensions skipped: "), line


def test_nothing_to_do_notice(tmp_path: Path) -> None:
    b = FleetBuilder().region("eastus").vm("a", "eastus", exts=[ext(version="9.10")])
    res = runner.invoke(app, ["plan", "--fleet", str(write(tmp_path, b))])
    assert res.exit_code == 0, res.output
    assert "nothing to do" in res.stdout and "proven optimal" not in res.stdout


MARKUP = ["[/b]chile", "[bold red]x", "[link=http://e]y[/link]", "a[/]b"]


@pytest.mark.parametrize("name", MARKUP)
def test_markup_in_names_is_printed_as_written(tmp_path: Path, name: str) -> None:
    b = FleetBuilder().region(name, zones=3).scale_set(f"ss{name}", name, 3, zones=["1", "2", "3"])
    fleet = write(tmp_path, b)
    events = tmp_path / "ev.jsonl"
    sched = tmp_path / "s.json"
    res = runner.invoke(app, ["plan", "--fleet", str(fleet), "-o", str(sched)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert name in res.stdout
    res = runner.invoke(app, ["simulate", "--fleet", str(fleet), "--events", str(events)], catch_exceptions=False)
    assert res.exit_code in (0, 3), res.output
    assert events.exists() and "outcome:" in res.stdout
    res = runner.invoke(app, ["verify", str(sched), "--fleet", str(fleet)], catch_exceptions=False)
    assert res.exit_code == 0, res.output


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with progress("planning") as say:
        say("[/b]chile")
    assert pipe.getvalue() == ""
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    with progress("planning") as say:
        say("region [/b]chile")  # a user's name in a message: printed, never parsed as markup
    assert "planning" in tty.getvalue()
    quiet = _Tty()
    monkeypatch.setattr(sys, "stderr", quiet)
    with progress("planning", quiet=True):
        pass
    assert quiet.getvalue() == ""


def test_ideal_never_exceeds_the_actual_time_in_the_summary() -> None:
    import dataclasses

    from engine.cli.commands.simulate import render_summary, run_simulate, summary_json

    out = run_simulate(fleet_path=FLEET)
    early = dataclasses.replace(out, result=dataclasses.replace(out.result, duration=out.result.ideal - 60,
                                                                outcome="halted"))
    text = render_summary(early)
    assert "ideal" not in text.split("virtual time", 1)[1].splitlines()[0]
    assert "halted early; a complete run" in text
    doc = json.loads(summary_json(early))
    assert doc["ideal_seconds"] is None and doc["complete_run_at_least_seconds"] == out.result.ideal
    doc = json.loads(summary_json(out))
    assert doc["ideal_seconds"] is not None and doc["ideal_seconds"] <= doc["duration_seconds"]


def test_diff_prints_durations_one_way(tmp_path: Path) -> None:
    child = tmp_path / "hw.wg"
    child.write_text('policy t\nextends "wavegate:azure-default"\nparam health_wait = 600s\n')
    res = runner.invoke(app, ["diff", "wavegate:azure-default", str(child)])
    assert res.exit_code == 0, res.output
    assert "health wait 10m is not matched (the other policy waits 5m)" in res.stdout
    assert "600s" not in res.stdout and "300s" not in res.stdout


def test_an_infeasible_order_rule_keeps_its_conditions(tmp_path: Path) -> None:
    b = FleetBuilder().region("eastus")
    for i in range(2):
        b.vm(f"d{i}", "eastus", tags={"env": "dev"}).vm(f"p{i}", "eastus", tags={"env": "prod"})
    spec = tmp_path / "ord.wg"
    spec.write_text('policy ord\nextends "wavegate:azure-default"\n'
                    'rule dev_first: VMs where vm.tags.env == "dev" and vm.region == "eastus" before VMs where '
                    'vm.tags.env == "prod" by wave\n'
                    'rule prod_first: VMs where vm.tags.env == "prod" before VMs where vm.tags.env == "dev" or '
                    'vm.tags.env == "qa" by wave\n')
    res = runner.invoke(app, ["plan", "--spec", str(spec), "--fleet", str(write(tmp_path, b))])
    assert res.exit_code == 1, res.output
    assert '(vm.tags.env == "dev") and (vm.region == "eastus") go in waves strictly before' in res.stderr
    assert 'VMs where (vm.tags.env == "dev") or (vm.tags.env == "qa")' in res.stderr
