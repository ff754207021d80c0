"""The shape of the code, checked: the flow runs one way (import-linter contracts in pyproject.toml, run by .ci/run
and here), imports live at module level (function-level only in the CLI, each with a reason), and no module reaches
for another module's private names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.glob("dsl/**/*.py"), *ROOT.glob("engine/**/*.py")])


def _nested_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    top = {id(n) for n in tree.body}
    # ``if TYPE_CHECKING:`` at module level is a module-level import for the type checker only.
    top |= {id(n) for block in tree.body if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
            for n in block.body}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in top]


def test_function_level_imports_only_in_the_cli_and_each_says_why() -> None:
    bad = []
    for f in SOURCES:
        text = f.read_text()
        lines = text.split("\n")
        for node in _nested_imports(ast.parse(text)):
            rel = f.relative_to(ROOT).as_posix()
            if not rel.startswith("engine/cli/"):
                bad.append(f"{rel}:{node.lineno}: function-level import outside the CLI")
                continue
            above = [ln.strip() for ln in lines[max(0, node.lineno - 4):node.lineno - 1]]
            if not any(ln.startswith("# deferred:") for ln in above):
                bad.append(f"{rel}:{node.lineno}: function-level import without a '# deferred: why' line above")
    assert not bad, "\n".join(bad)


def test_no_module_imports_another_modules_private_names() -> None:
    bad = []
    for f in SOURCES:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("dsl", "engine")):
                bad += [f"{f.relative_to(ROOT)}:{node.lineno}: {node.module}.{a.name}" for a in node.names
                        if a.name.startswith("_")]
    assert not bad, "\n".join(bad)


def test_import_contracts_hold() -> None:
    pytest.importorskip("importlinter", reason="import-linter is part of the test extra: pip install '.[test]'")
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    res = subprocess.run([sys.executable, "-c", code, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]


def test_every_package_ships_in_the_wheel() -> None:
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in [*ROOT.glob("dsl/**/__init__.py"),
                                                                 *ROOT.glob("engine/**/__init__.py")]}
    assert found <= listed, f"packages missing from pyproject.toml [tool.setuptools] packages: {sorted(found - listed)}"
