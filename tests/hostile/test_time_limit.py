"""--time-limit is a wall-clock bound on the whole solve (issue 11, item 7): the solve runs in a child process that
is killed, with its workers, at the bound; its answer or error comes back as if it had run in-process."""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dsl.diagnostics import Diagnostic
from engine.cli import app
from engine.cli.bounded import BoundedCrash, run_bounded
from engine.model.errors import Infeasible, InputError, SolverTimeout

runner = CliRunner()


def test_the_answer_and_progress_come_back() -> None:
    said: list[str] = []

    def work(say: object) -> dict[str, int]:
        say("half way")  # type: ignore[operator]
        return {"pid": os.getpid()}

    got = run_bounded(work, 30, said.append, "a test")
    assert got["pid"] != os.getpid() and said == ["half way"]


@pytest.mark.parametrize("error", [Infeasible("no schedule exists: rules a and b conflict", ("a", "b")),
                                   InputError([Diagnostic("E-IO", "cannot read x")], {"x": "text"}),
                                   SolverTimeout("solver ran out")])
def test_errors_come_back_whole(error: Exception) -> None:
    def work(say: object) -> None:
        raise error

    with pytest.raises(type(error)) as got:
        run_bounded(work, 30, lambda _m: None, "a test")
    if isinstance(error, Infeasible):
        assert got.value.conflicting_rules == ("a", "b")  # type: ignore[attr-defined]
    if isinstance(error, InputError):
        assert got.value.diagnostics == error.diagnostics  # type: ignore[attr-defined]


def test_an_unexpected_crash_is_an_internal_error() -> None:
    def work(say: object) -> None:
        raise ZeroDivisionError("boom")

    with pytest.raises(BoundedCrash, match="ZeroDivisionError: boom"):
        run_bounded(work, 30, lambda _m: None, "a test")


def _sleep(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_the_bound_is_wall_clock_and_stops_the_workers_too(tmp_path: Path) -> None:
    marker = tmp_path / "pids"

    def work(say: object) -> None:
        with ProcessPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(_sleep, 60) for _ in range(2)]
            pids = [p.pid for p in pool._processes.values()]
            marker.write_text(" ".join(map(str, pids)))
            for f in futures:
                f.result()

    start = time.monotonic()
    with pytest.raises(SolverTimeout, match="--time-limit 1 s"):
        run_bounded(work, 1.0, lambda _m: None, "a test")
    assert time.monotonic() - start < 5
    deadline = time.monotonic() + 5
    pids = [int(p) for p in marker.read_text().split()]
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_plan_ends_at_its_time_limit() -> None:
    start = time.monotonic()
    res = runner.invoke(app, ["plan", "--time-limit", "0.1", "-o", "never.json"])
    took = time.monotonic() - start
    assert res.exit_code == 1 and "no verified schedule within --time-limit 0.1 s" in res.stderr, res.output
    assert took < 10  # loading the sample fleet and policy, plus the bound
    assert not Path("never.json").exists()
