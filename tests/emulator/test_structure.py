"""The emulator stays readable as it grows: no function longer than a screen (issue 14's structure rule)."""

from __future__ import annotations

import ast
from pathlib import Path

EMULATOR = Path(__file__).resolve().parents[2] / "stripe_emulator"
MAX_FUNCTION_LINES = 60


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
