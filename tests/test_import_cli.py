"""`wavegate import arm|rest` end to end: written fleets load and plan; refusals exit 2, write nothing, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from dsl.loader import load_policy
from engine.cli.commands import import_cmd
from engine.model.fleet import load_fleet
from engine.model.resources import bundled_spec
from engine.plan.synthesis import plan

FIX = Path(__file__).parent / "fixtures" / "import"
runner = CliRunner()


def make_app() -> typer.Typer:
    # engine/cli.py is the lead's; a local app with the command registered, as the lead will register it.
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """wavegate (test app)."""

    import_cmd.register(app)
    return app


APP = make_app()


def test_help_shows_examples() -> None:
    for kind in ("arm", "rest"):
        res = runner.invoke(APP, ["import", kind, "--help"])
        assert res.exit_code == 0 and "Example:" in res.output and f"wavegate import {kind}" in res.output


def test_arm_import_writes_a_fleet_that_plans(tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    res = runner.invoke(APP, ["import", "arm", str(FIX / "arm" / "fleet-mixed.json"), "--location", "eastus2",
                              "--catalog", str(FIX / "catalog.json"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "# note: scale-set instances are named" in res.stderr
    assert "imported 11 VMs, 1 scale sets, 1 availability sets in 1 regions" in res.stderr
    fleet = load_fleet(out)
    result = plan(load_policy(bundled_spec()), fleet, time_limit=30)
    tasks = [t for w in result.schedule.waves for t in w.tasks]
    # Every enabled extension below its catalog's newest same-major version becomes a task.
    assert len(tasks) == 18 and not result.schedule.skipped
    assert {(t.vm, t.extension, t.to_version) for t in tasks} >= {("shop-web_0", "DependencyAgent", "9.10"),
                                                                  ("db1", "KeyVault", "2.2")}


def test_rest_import_prints_to_stdout_without_output() -> None:
    res = runner.invoke(APP, ["import", "rest", str(FIX / "rest" / "rest-vms-page.json")])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [v["name"] for v in data["vms"]] == ["db1"] and data["regions"][0]["name"] == "northeurope"


def test_refusal_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    res = runner.invoke(APP, ["import", "arm", str(FIX / "arm" / "vmss-zones-rolling-upgrade-preview2017.json"),
                              "--location", "eastus2", "-o", str(out)])
    assert res.exit_code == 2 and not out.exists()
    assert "vmss-zones-rolling-upgrade-preview2017.json: $.parameters.vmssNamePrefix: error[E-IMPORT]" in res.stderr
    assert "Traceback" not in res.output
    res = runner.invoke(APP, ["import", "rest", str(FIX / "rest" / "rest-vms-page.json"), "--location", "atlantis",
                              "-o", str(out)])
    assert res.exit_code == 2 and not out.exists() and "unknown Azure region 'atlantis'" in res.stderr


def test_bad_param_syntax_and_missing_file(tmp_path: Path) -> None:
    res = runner.invoke(APP, ["import", "arm", str(FIX / "arm" / "fleet-mixed.json"), "--param", "novalue"])
    assert res.exit_code == 2 and "--param expects NAME=VALUE" in res.stderr
    res = runner.invoke(APP, ["import", "rest", str(tmp_path / "missing.json")])
    assert res.exit_code == 2 and "file not found" in res.stderr


def test_param_overrides_parameters_file(tmp_path: Path) -> None:
    res = runner.invoke(APP, ["import", "arm", str(FIX / "arm" / "fleet-mixed.json"), "-l", "eastus2",
                              "-p", str(FIX / "arm" / "fleet-mixed.parameters.json"), "--param", "webCount=2"])
    assert res.exit_code == 0, res.output
    names = [v["name"] for v in json.loads(res.stdout)["vms"]]
    assert [n for n in names if "web" in n] == ["cart-web_0", "cart-web_1"]


def test_output_folder_is_refused(tmp_path: Path) -> None:
    res = runner.invoke(APP, ["import", "rest", str(FIX / "rest" / "rest-vms-page.json"), "-o", str(tmp_path)])
    assert res.exit_code == 2 and "is a folder" in res.stderr and list(tmp_path.iterdir()) == []
