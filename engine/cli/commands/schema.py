"""`wavegate schema NAME`: print the JSON Schema of one of wavegate's file formats (from its pydantic models)."""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

from dsl.diagnostics import Diagnostic
from dsl.suggest import closest
from engine.cli.common import report_errors
from engine.model.errors import InputError

# One line per format: name -> "module:function returning the schema dict".  Resolved at call time, so a format
# whose module is not part of this build is listed as unavailable instead of breaking the command.
FORMATS: dict[str, str] = {
    "fleet": "engine.model.fleet:fleet_schema",
    "schedule": "engine.model.schedule:schedule_schema",
    "events": "engine.run.events:events_schema",
    "faults": "engine.model.faults:faults_schema",
    "fault-model": "engine.model.fault_model:fault_model_schema",
}


def available(name: str) -> bool:
    """True when the module behind format ``name`` exists in this build."""
    module = FORMATS[name].split(":", 1)[0]
    return importlib.util.find_spec(module) is not None


def schema_of(name: str) -> dict[str, Any]:
    """The JSON Schema of format ``name``; InputError (with the known names) when it is unknown or unavailable."""
    target = FORMATS.get(name)
    if target is None:
        close = closest(name, FORMATS)
        hint = f"did you mean '{close}'? " if close else ""
        raise InputError([Diagnostic("E-USAGE", f"unknown format '{name}'",
                                     hint=f"{hint}known formats: {', '.join(sorted(FORMATS))}")])
    if not available(name):
        raise InputError([Diagnostic("E-USAGE", f"format '{name}' is not available in this build")])
    module_name, func_name = target.split(":", 1)
    func: Callable[[], dict[str, Any]] = getattr(importlib.import_module(module_name), func_name)
    return func()


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def schema(
        name: Annotated[str, typer.Argument(help="fleet | schedule | events | faults")],
    ) -> None:
        """Print the JSON Schema of a wavegate file format.

        \b
        Formats: fleet (input), schedule (plan output), events (executor log), faults (fault script).

        \b
        Example:
          wavegate schema fleet > fleet.schema.json
        """
        typer.echo(json.dumps(schema_of(name), indent=2, sort_keys=True))
