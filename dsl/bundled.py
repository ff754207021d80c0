"""Bundled policies by name: ``extends "wavegate:azure-default"`` (or ``theorems about "wavegate:team-strict"``).

The bundled specs ship as the package ``engine.bundled.specs`` (pyproject maps the repository's ``specs/`` there);
they are found through ``importlib.resources`` on that package name — the language imports nothing of ``engine`` —
and, in a source checkout where that package is not built, in the ``specs/`` folder beside ``dsl/``.  A caller may
pass another folder (tests, a vendored copy).  A bundled file lies outside any project root by design: it is
wavegate's own, and a name cannot climb out of the bundled folder.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

from dsl.suggest import closest

PREFIX = "wavegate:"
PACKAGE = "engine.bundled.specs"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(\.wg)?", re.ASCII)


def is_bundled(ref: str) -> bool:
    return ref.startswith(PREFIX)


def default_folder() -> Path | None:
    """Where the bundled specs are: the installed package, else the checkout's ``specs/``; None when neither."""
    try:
        # A namespace package (specs/ has no __init__.py) gives a MultiplexedPath: its files are real paths.
        entries = list(importlib.resources.files(PACKAGE).iterdir())
    except (ModuleNotFoundError, TypeError, ValueError, OSError):
        entries = []
    for entry in entries:
        if isinstance(entry, Path) and entry.suffix == ".wg":
            return entry.parent
    checkout = Path(__file__).resolve().parent.parent / "specs"
    return checkout if checkout.is_dir() else None


def names(folder: Path | None) -> list[str]:
    """The bundled policies, as a user writes them (``wavegate:azure-default``)."""
    if folder is None:
        return []
    return sorted(PREFIX + p.stem for p in folder.glob("*.wg") if p.is_file())


def resolve(ref: str, folder: Path | None) -> tuple[Path | None, str, str | None]:
    """(the file, its shown name, None) for a bundled name, else (None, the problem, a hint)."""
    name = ref[len(PREFIX):]
    known = names(folder)
    listing = "bundled policies: " + ", ".join(known) if known else "no bundled policies are installed"
    if not _NAME.fullmatch(name):
        return None, f"`{ref}` is not a bundled policy name", f"write it as {PREFIX}NAME; {listing}"
    file = name if name.endswith(".wg") else name + ".wg"
    if folder is None or not (folder / file).is_file():
        close = closest(file.removesuffix(".wg"), [k[len(PREFIX):] for k in known])
        return None, f"no bundled policy `{ref}`", (f"did you mean `{PREFIX}{close}`? " if close else "") + listing
    return folder / file, PREFIX + file, None


def shown(path: str, folder: Path | None) -> str:
    """A path inside the bundled folder as ``wavegate:NAME.wg``; any other path unchanged."""
    if folder is None:
        return path
    try:
        inside = Path(path).resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return path
    return PREFIX + inside.as_posix()
