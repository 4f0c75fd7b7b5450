"""The regression guard's rules (bench/guard.py), without a stack: what fails, what earns another
attempt, and that the committed report states a figure for every ratio the smoke guards."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.guard import ATTEMPTS, MARGINS, Guard, committed_figures, figures_block, threshold
from bench.result import Check, Ratio, Result

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
NAME = "intake.cpu"  # lower is better


def _result(value: float, *, broken: bool = False, error: str = "", attempts: int = 1) -> Result:
    return Result(
        1,
        "Webhook intake",
        "-",
        checks=[Check(not broken, "3 acknowledged events lost", correctness=True)],
        ratios=[Ratio(NAME, value, higher_is_better=False, label="intake CPU")],
        error=error,
        attempts=attempts,
    )


def _worse(committed: float) -> float:
    return threshold(committed, MARGINS[NAME], higher_is_better=False) * 1.05


def test_the_committed_report_states_a_figure_and_a_margin_for_every_guarded_ratio():
    figures = committed_figures(COMMITTED.read_text())
    assert set(figures) == set(MARGINS), "run `make bench` after adding or renaming a guarded ratio"
    assert all(value > 0 for value in figures.values())


def test_figures_written_by_the_report_are_read_back():
    results = [_result(4.25), Result(3, "Gating cost", "-", ratios=[Ratio("gating.cpu", 1.0312, False)])]
    assert committed_figures("# Benchmarks\n\n" + figures_block(results) + "\n") == {
        "intake.cpu": 4.25,
        "gating.cpu": 1.0312,
    }


def test_a_ratio_beyond_its_margin_in_every_attempt_fails_after_the_last_attempt():
    guard = Guard({NAME: 4.0}, source="test")
    for attempt in range(1, ATTEMPTS + 1):
        result = _result(_worse(4.0), attempts=attempt)
        guard.record(result)
        assert guard.try_again(result) is (attempt < ATTEMPTS)
    assert not guard.ok


def test_one_good_attempt_clears_a_ratio_that_looked_regressed():
    guard = Guard({NAME: 4.0}, source="test")
    guard.record(first := _result(_worse(4.0)))
    assert guard.try_again(first)
    guard.record(second := _result(4.1, attempts=2))
    assert not guard.try_again(second)
    assert guard.ok


@pytest.mark.parametrize("value", [4.0 * 0.5, 4.0, threshold(4.0, MARGINS[NAME], False) * 0.99])
def test_a_ratio_within_its_margin_or_better_passes_at_once(value):
    guard = Guard({NAME: 4.0}, source="test")
    guard.record(result := _result(value))
    assert not guard.try_again(result)
    assert guard.ok


def test_a_broken_correctness_condition_fails_at_once_whatever_the_ratios():
    guard = Guard({NAME: 4.0}, source="test")
    guard.record(result := _result(4.0, broken=True))
    assert not guard.try_again(result)
    assert not guard.ok
    assert guard.broken == ["1. Webhook intake: 3 acknowledged events lost"]


def test_a_benchmark_that_could_not_run_fails_the_guard():
    guard = Guard({NAME: 4.0}, source="test")
    guard.record(Result.failed(1, "Webhook intake", RuntimeError("wrk failed")))
    assert not guard.ok


def test_a_ratio_the_committed_report_does_not_state_fails():
    guard = Guard({}, source="test")
    guard.record(result := _result(4.0))
    assert not guard.try_again(result)
    assert not guard.ok
    assert "run make bench" in guard.table()[1][1]
