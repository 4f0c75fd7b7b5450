"""The emulator stays readable as it grows: no function longer than a screen (issue 14's structure rule), and
no import circle between its modules (issue 13's): they import downwards only, and a lower module lets a higher
one react through ``stripe_emulator/hooks.py`` (stripe_emulator/README.md, *Layout*)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = ROOT / "stripe_emulator"
MAX_FUNCTION_LINES = 60
CIRCLE_CONTRACT = "emulator-acyclic"


def long_functions(source: str, max_lines: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, length) of every function or method in `source` longer than `max_lines` lines."""
    nodes = ast.walk(ast.parse(source))
    functions = [n for n in nodes if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return [(f.name, f.end_lineno - f.lineno + 1) for f in functions if f.end_lineno - f.lineno + 1 > max_lines]


def test_the_length_check_sees_a_long_function():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def short():\n    return 1\n\n\ndef long():\n{body}\n") == [
        ("long", MAX_FUNCTION_LINES + 1)
    ]


def test_no_emulator_function_is_longer_than_a_screen():
    found = {
        f"{path.relative_to(EMULATOR)}::{name}": length
        for path in sorted(EMULATOR.rglob("*.py"))
        for name, length in long_functions(path.read_text())
    }
    assert not found, found


def lint_imports(cwd: Path, contract: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache", "--no-logo", "--contract", contract],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_emulator_module_imports_another_in_a_circle():
    result = lint_imports(ROOT, CIRCLE_CONTRACT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


def test_a_circle_hidden_in_a_function_level_import_breaks_the_contract(tmp_path):
    """The same contract, on a copy of the emulator: kept as it is, broken once its lowest module imports its
    top one inside a function (the import a circle hides behind)."""
    copy = tmp_path / "emulator_copy"
    shutil.copytree(EMULATOR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.md"))
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    contract = next(c for c in contracts if c["id"] == CIRCLE_CONTRACT)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.importlinter]\nroot_packages = ["emulator_copy"]\n\n[[tool.importlinter.contracts]]\n'
        f'id = "{CIRCLE_CONTRACT}"\nname = "no circle"\ntype = "{contract["type"]}"\n'
        'ancestors = ["emulator_copy"]\n'
    )
    assert lint_imports(tmp_path, CIRCLE_CONTRACT).returncode == 0

    with (copy / "stored_objects.py").open("a") as lowest:
        lowest.write("\n\ndef _hidden():\n    from . import time_passing  # noqa: F401\n")
    result = lint_imports(tmp_path, CIRCLE_CONTRACT)

    assert result.returncode == 1
    assert "No cycles are allowed in emulator_copy." in result.stdout, result.stdout[-4000:]


def test_every_hook_a_lower_module_fires_has_its_handler_once_the_app_is_imported():
    """``hooks.fire`` finds a handler only if the module registering it was imported: the app imports them all."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import stripe_emulator.app\nfrom stripe_emulator import hooks\nprint(hooks.missing_handlers())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
