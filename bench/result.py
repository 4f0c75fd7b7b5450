"""What every benchmark returns: its target, the checks that decide its verdict, the ratios the CI
guard compares with the committed report (bench/guard.py), and the tables and notes the report
prints (bench/report.py). Benchmarks measure and describe; nothing here runs anything."""

from __future__ import annotations

from dataclasses import dataclass, field

Table = list[list[str]]  # first row: the header


@dataclass(frozen=True)
class Ratio:
    """A number relative to a baseline measured in the same run (so a loaded machine slows both)."""

    name: str  # stable key in the report's figures block, e.g. "intake.throughput"
    value: float
    higher_is_better: bool = True
    label: str = ""  # what it is, for the guard's table


@dataclass(frozen=True)
class Check:
    """One condition of the target; `miss` is what the report says when it does not hold. A
    `correctness` condition (nothing lost, nothing wrong, no extra query) does not depend on the
    machine's speed: the CI smoke fails when it does not hold, at any size."""

    ok: bool
    miss: str
    correctness: bool = False


@dataclass
class Result:
    number: int
    title: str
    target: str
    headline: str = ""
    checks: list[Check] = field(default_factory=list)  # none: a REPORT, nothing to pass
    ratios: list[Ratio] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    epilogue: str = ""  # a paragraph after the notes
    seconds: float = 0.0
    error: str = ""
    attempts: int = 1

    @property
    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        if not self.checks:
            return "REPORT"
        return "PASS" if all(check.ok for check in self.checks) else "MISS"

    @property
    def misses(self) -> list[str]:
        return [check.miss for check in self.checks if not check.ok]

    @property
    def broken(self) -> list[str]:
        """The correctness conditions that do not hold."""
        return [check.miss for check in self.checks if check.correctness and not check.ok]

    def ratio(self, name: str) -> Ratio | None:
        return next((ratio for ratio in self.ratios if ratio.name == name), None)

    @classmethod
    def failed(cls, number: int, title: str, exc: BaseException) -> Result:
        detail = " ".join(str(exc).split())[:400]
        return cls(
            number,
            title,
            target="-",
            headline=f"could not run: {type(exc).__name__}",
            notes=[f"The harness failed: `{detail}`"],
            error=type(exc).__name__,
        )
