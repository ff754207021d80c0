"""`wavegate import arm|rest`: build a validated fleet JSON from ARM templates or Azure REST / az CLI output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.common import report_errors
from engine.cli.outputs import check_outputs, is_stdout, write_output

LOCATION_HELP = "The resource group's location: resourceGroup().location, and resources without one."
CATALOG_HELP = "Catalog JSON: a list of {publisher, type, versions}; default: empty."
SUBSCRIPTION_HELP = "Subscription of every VM; default: from resource ids, else 'default'."
OUTPUT_HELP = "Write the fleet JSON here (nothing is written on error); default: print it."


def _emit(fleet_json: str, notes: tuple[str, ...], summary: str, output: Path | None) -> None:
    for note in notes:
        typer.echo(f"# note: {note}", err=True)
    if output is not None:
        write_output(output, fleet_json)
        typer.echo(f"{summary} -> {'stdout' if is_stdout(output) else output}", err=True)
    else:
        typer.echo(fleet_json, nl=False)


def _summary(n_vms: int, n_ss: int, n_as: int, n_regions: int) -> str:
    return f"imported {n_vms} VMs, {n_ss} scale sets, {n_as} availability sets in {n_regions} regions"


def register(app: typer.Typer) -> None:
    sub = typer.Typer(
        name="import",
        help="Build a wavegate fleet (JSON, format v1) from ARM templates or Azure REST / az CLI output.",
        no_args_is_help=True,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @sub.command("arm")
    @report_errors
    def arm(
        templates: Annotated[list[Path], typer.Argument(help="ARM template files (azuredeploy.json ...).")],
        location: Annotated[str | None, typer.Option("--location", "-l", help=LOCATION_HELP)] = None,
        parameters: Annotated[Path | None, typer.Option("--parameters", "-p",
                                                         help="ARM parameters file (azuredeploy.parameters.json).")] = None,
        param: Annotated[list[str] | None, typer.Option("--param", help="NAME=VALUE, overrides --parameters; "
                                                        "repeatable.")] = None,
        update_domains: Annotated[int, typer.Option("--update-domains", min=1, max=20,
                                                    help="Scale-set instances get update domain i mod N.")] = 5,
        catalog: Annotated[Path | None, typer.Option("--catalog", help=CATALOG_HELP)] = None,
        subscription: Annotated[str | None, typer.Option("--subscription", help=SUBSCRIPTION_HELP)] = None,
        output: Annotated[Path | None, typer.Option("--output", "-o", help=OUTPUT_HELP)] = None,
    ) -> None:
        """Import ARM templates: scale sets (sku.capacity instances), availability sets, VMs and their extensions.

        Evaluates parameters(), variables(), concat(), format(), copyIndex(), resourceGroup().location and a few more;
        an expression outside that subset, where the fleet needs it, is refused with its JSON path.  Scale-set
        instance i is named <set>_<i>, zones round-robin, update domain i mod --update-domains (an assumption,
        printed as a note).  Exit codes: 0 imported, 2 refused (nothing written).

        \b
        Example:
          wavegate import arm azuredeploy.json --location eastus --param instanceCount=6 -o fleet.json
        """
        # deferred: the ARM template importer loads only when this command runs
        from engine.importers.arm import ArmOptions, import_arm, parse_param_assignments

        check_outputs(output)
        opts = ArmOptions(location=location, subscription=subscription, params=parse_param_assignments(param or []),
                          parameters_file=parameters, update_domains=update_domains, catalog=catalog)
        result = import_arm(list(templates), opts)
        f = result.fleet
        _emit(f.to_json(), result.notes,
              _summary(len(f.vms), len(f.scale_sets), len(f.availability_sets), len(f.regions)), output)

    @sub.command("rest")
    @report_errors
    def rest(
        files: Annotated[list[Path], typer.Argument(help="JSON from az vm get-instance-view, az vmss list-instances, "
                                                    "az vm show, or REST responses.")],
        location: Annotated[str | None, typer.Option("--location", "-l",
                                                     help="Region of VMs whose JSON has no location.")] = None,
        catalog: Annotated[Path | None, typer.Option("--catalog", help=CATALOG_HELP)] = None,
        subscription: Annotated[str | None, typer.Option("--subscription", help=SUBSCRIPTION_HELP)] = None,
        output: Annotated[Path | None, typer.Option("--output", "-o", help=OUTPUT_HELP)] = None,
    ) -> None:
        """Import VM listings: names, regions, zones, update/fault domains, extension versions and health.

        Each file holds one object, a JSON list (az ... -o json), {"value": [...]} or a REST example file.
        Update and fault domains come from the instance view (use --expand instanceView with az vmss list-instances).
        Exit codes: 0 imported, 2 refused (nothing written).

        \b
        Example:
          az vmss list-instances -g rg -n web --expand instanceView -o json > web.json
          wavegate import rest web.json --catalog catalog.json -o fleet.json
        """
        # deferred: the REST importer loads only when this command runs
        from engine.importers.rest import RestOptions, import_rest

        check_outputs(output)
        result = import_rest(list(files), RestOptions(location=location, subscription=subscription, catalog=catalog))
        f = result.fleet
        _emit(f.to_json(), result.notes,
              _summary(len(f.vms), len(f.scale_sets), len(f.availability_sets), len(f.regions)), output)

    app.add_typer(sub, name="import")
