"""The command line: the typer app (``engine.cli.app``), one module per command (``engine.cli.commands``), and what
the commands share (``engine.cli.common``: errors to exit codes, safe output files).  The top layer: nothing imports it."""

from engine.cli.app import app, main

__all__ = ["app", "main"]
