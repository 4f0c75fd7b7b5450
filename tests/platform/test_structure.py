"""The structure stays as docs/architecture.md draws it: import-linter's contracts (pyproject.toml)
hold, so no package or module imports one above it and no import runs in a circle; no file is
longer than 400 lines and no function longer than 60, outside migrations, the Stripe emulator and
the tests."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
SKIPPED_PARTS = {".venv", "node_modules", "migrations", "stripe_emulator", "tests", "var", "staticfiles", ".git"}


def python_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*.py")
        if not SKIPPED_PARTS & set(path.relative_to(root).parts) and not path.name.startswith(".")
    )


def too_long(root: Path) -> dict[str, int]:
    """Every file over MAX_FILE_LINES (`path`) and every function over MAX_FUNCTION_LINES
    (`path:name`, from its `def` to its last line), with its length."""
    found = {}
    for path in python_files(root):
        name = path.relative_to(root).as_posix()
        text = path.read_text()
        if len(text.splitlines()) > MAX_FILE_LINES:
            found[name] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found[f"{name}:{node.name}"] = length
    return found


def test_import_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_file_over_400_lines_and_no_function_over_60():
    found = too_long(ROOT)
    assert not found, found


def test_the_length_check_finds_a_long_file_and_a_long_function(tmp_path):
    long_function = "def sprawling():\n" + "    x = 1\n" * MAX_FUNCTION_LINES + "    return x\n"
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "long.py").write_text(long_function + "\n" * (MAX_FILE_LINES - MAX_FUNCTION_LINES))
    (tmp_path / "app" / "short.py").write_text("def fine():\n    return 1\n")
    (tmp_path / "app" / "migrations").mkdir()
    (tmp_path / "app" / "migrations" / "0001_initial.py").write_text("x = 1\n" * (MAX_FILE_LINES + 1))

    assert too_long(tmp_path) == {"app/long.py": MAX_FILE_LINES + 2, "app/long.py:sprawling": MAX_FUNCTION_LINES + 2}
