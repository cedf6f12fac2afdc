"""The bench's harness: rows and cases, interleaved timed rounds, polling, the lock.

A Case is timed several times; the cases of a Group run interleaved, round after round,
after one untimed warm-up run each, so a slow moment of the machine hits all of them
alike. A Row holds one line of the table: its samples (median and range), or why it has
none. The lab's processes and commands come from tests/lab (`lab`).
"""

from __future__ import annotations

import contextlib
import fcntl
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lab import Result

__all__ = [
    "BenchError",
    "Case",
    "Group",
    "NoFigure",
    "Row",
    "bench_lock",
    "checked",
    "first_line",
    "fmt",
    "last_lines",
    "poll_until",
    "run_group",
    "say",
    "set_verbose",
]


class BenchError(RuntimeError):
    """A case could not be measured; the row says why instead of a figure."""


class NoFigure(BenchError):
    """The case ran and the finding is that there is no figure (a peer that never comes
    back): the row shows this message as it is, not as a failure of the bench."""


# -- rows and cases ----------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: samples in seconds, or why there are none."""

    label: str
    runs: int
    samples: list[float] = field(default_factory=list)
    note: str = ""
    missing: str | None = None  # "could not run: ...", "never: ...", "> 120 s (cap)"
    unit: str = "s"

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def cells(self) -> tuple[str, str, str]:
        if not self.samples:
            return "—", self.missing or "no samples", "0"
        lo, hi = min(self.samples), max(self.samples)
        return (
            fmt(self.median, self.unit),
            f"{fmt(lo, self.unit)} – {fmt(hi, self.unit)}",
            str(len(self.samples)),
        )


class Case:
    """Something timed several times. `reset` (untimed) puts the world in the state the
    case starts from; `measure` returns seconds. Cases of a group are interleaved."""

    label = ""
    note = ""
    warmup = True  # one untimed run first (False where a run is long: a cut, a window)

    def __init__(self, runs: int) -> None:
        self.row = Row(self.label, runs, note=self.note)
        self.extra_rows: list[Row] = []  # further figures one measure() takes

    def rows(self) -> list[Row]:
        return [self.row, *self.extra_rows]

    def setup(self) -> None:
        """Once, before the warm-up run."""

    def reset(self) -> None:
        """Before every run, untimed."""

    def measure(self) -> float:
        raise NotImplementedError

    def after(self) -> None:
        """After every run, untimed (stop what must not idle through the other cases)."""

    def teardown(self) -> None:
        """Once, at the end of the group (also after a failure)."""


@dataclass
class Group:
    title: str
    cases: list[Case]
    pending: list[Row] = field(default_factory=list)  # rows shown as they are (skipped)

    def rows(self) -> list[Row]:
        """Every row of the group, in table order."""
        return [r for c in self.cases for r in c.rows()] + self.pending


def fmt(seconds: float | None, unit: str = "s") -> str:
    if seconds is None:
        return "—"
    if unit != "s":
        return f"{seconds:.3g} {unit}"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


# -- running the rounds ------------------------------------------------------------------


def run_group(group: Group, *, warmup: bool = True) -> None:
    """Set every case up, one untimed warm-up run each, then interleaved timed rounds."""
    say(f"\n== {group.title}")
    live: list[Case] = []
    try:
        for case in group.cases:
            try:
                case.setup()
                if warmup and case.warmup:
                    case.reset()
                    case.measure()
                    case.after()
                    for row in case.extra_rows:  # the warm-up's figures don't count
                        row.samples.clear()
                live.append(case)
            except (BenchError, OSError) as exc:
                case.row.missing = _why(exc, "could not run")
                say(f"  {case.label}: {case.row.missing}")
                _detail(exc)
                with contextlib.suppress(Exception):
                    case.teardown()
        rounds = max((c.row.runs for c in live), default=0)
        for i in range(rounds):
            # Rotate the order each round: no case always runs right after the same one.
            order = live[i % len(live) :] + live[: i % len(live)] if live else []
            for case in order:
                if len(case.row.samples) >= case.row.runs or case.row.missing:
                    continue
                try:
                    case.reset()
                    seconds = case.measure()
                except (BenchError, OSError) as exc:
                    case.row.missing = _why(exc, f"failed in run {i + 1}")
                    say(f"  {case.label}: {case.row.missing}")
                    _detail(exc)
                    continue
                case.row.samples.append(seconds)
                case.after()
                say(f"  [{i + 1}/{rounds}] {case.label}: {fmt(seconds, case.row.unit)}")
    finally:
        for case in group.cases:
            with contextlib.suppress(Exception):
                case.teardown()


def _why(exc: BaseException, prefix: str) -> str:
    return first_line(exc) if isinstance(exc, NoFigure) else f"{prefix}: {first_line(exc)}"


def checked(result: Result, what: str = "failed") -> Result:
    """RESULT when its command succeeded; otherwise a BenchError `WHAT: <result>`."""
    if not result.ok:
        raise BenchError(f"{what}: {result}")
    return result


def poll_until(check: Callable[[], bool], *, timeout: float, what: str, interval: float) -> float:
    """Poll CHECK every INTERVAL until true; the monotonic time it first was. BenchError
    after TIMEOUT. (The lab's wait_until backs its interval off: no use for timing.)"""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout:g} s")
        time.sleep(interval)


# -- output and the lock -----------------------------------------------------------------


def say(line: str) -> None:
    print(line, flush=True)


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def last_lines(text: str, n: int = 3) -> str:
    return " / ".join(text.strip().splitlines()[-n:])


_verbose = False


def set_verbose(on: bool) -> None:
    """-v: print each failure in full (stderr), not only its first line in the row."""
    global _verbose
    _verbose = on


def _detail(exc: BaseException) -> None:
    if _verbose:
        print(str(exc), file=sys.stderr)


@contextlib.contextmanager
def bench_lock(path: Path | None) -> Iterator[None]:
    """Hold an flock on PATH (None: no lock); say so when a test run holds it first."""
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for {path} (a test run holds it) ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
