"""The ``wavegate`` command line: one typer app; each command lives in ``engine/commands/<name>.py``.

Every command turns a :class:`WavegateError` into its diagnostics on stderr and its exit code; any other exception
is an internal error (exit 1) reported in one line, with the traceback only when WAVEGATE_DEBUG is set.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

import engine
from engine.cli.commands import check, diff, explain, fmt, import_cmd, plan, prove, schema, simulate, verify
from engine.cli.commands import report as report_cmd
from engine.cli.commands import risk as risk_command

HELP = """wavegate: verified rolling-upgrade schedules for cloud VM fleets.

\b
Examples:
  wavegate check specs/*.wg          # policies: file:line:col diagnostics
  wavegate plan                      # Azure default on the sample fleet
  wavegate plan --fleet my.json -o s.json
  wavegate verify --fleet my.json s.json   # independent re-check
  wavegate simulate                  # replay the sample rollout, faults
  wavegate prove                     # prove the theorems in proofs/
  wavegate diff specs/azure-default.wg specs/team-strict.wg
  wavegate import arm azuredeploy.json -l eastus -o fleet.json
"""

app = typer.Typer(
    name="wavegate",
    help=HELP,
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wavegate {engine.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """wavegate: verified rolling-upgrade schedules for cloud VM fleets."""

for module in (check, fmt, plan, verify, explain, schema, simulate, risk_command, prove, diff, import_cmd, report_cmd):
    module.register(app)


def main() -> None:
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("wavegate: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as e:  # the last line of defence: never a traceback for users
        if os.environ.get("WAVEGATE_DEBUG"):
            raise
        print(f"wavegate: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        print("  = hint: set WAVEGATE_DEBUG=1 for the traceback, and please report it", file=sys.stderr)
        sys.exit(1)

