"""The journal: decisions committed before they are acted on; a run killed with SIGKILL resumes to the same end."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import exec_support as X
import pytest

from dsl.loader import load_policy
from engine.cli import main as cli_main
from engine.model.errors import InputError
from engine.model.faults import parse_faults
from engine.model.resources import bundled_spec
from engine.run.driver import SimDriver
from engine.run.events import MemorySink
from engine.run.executor import execute
from engine.run.journal import CRASH_ENV, Journal

DA = {"publisher": "Microsoft.Azure.Monitoring.DependencyAgent", "type": "DependencyAgentLinux"}
AMA = {"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent"}
FAULTS = {
    "bad_versions": [{**AMA, "version": "1.3", "fail_rate": 0.25}],
    "vm_failures": [{"vm": "single-0", "extension": "da", "attempts": 1}],
    "maintenance": [{"at_minutes": 4, "vms": ["c-1", "c-2"], "minutes": 20}],
    "slow_installs": [{"vm": "a-3", "minutes": 7}],
}


def _fleet() -> Any:
    return X.fleet({"a": 10, "b": 5, "c": 6}, singles=3, exts=("da", "ama"), regions=("eastus", "westus"))


def _run(journal: Journal | None, seed: int = 5, max_retries: int | None = None) -> tuple[str, Any]:
    fl = _fleet()
    sink = MemorySink()
    result = execute(X.policy(), fl, X.schedule(fl, phase_of_region={"eastus": 0, "westus": 1}),
                     SimDriver(fl, parse_faults(FAULTS, fl), seed), sink, journal=journal,
                     max_retries=max_retries)
    return sink.text(), result


def test_resume_of_a_finished_journal_replays_every_entry(tmp_path: Path) -> None:
    baseline, _ = _run(None)
    j = Journal.create(tmp_path / "run.db", {"seed": "5"})
    text, _ = _run(j)
    entries, commits = j.entries, j.commits
    j.close()
    assert text == baseline and commits > 10
    j2 = Journal.resume(tmp_path / "run.db")
    text2, _ = _run(j2)
    assert text2 == baseline and j2.replayed == entries and j2.commits == 0  # nothing acted on twice
    assert j2.meta()["seed"] == "5"


def test_resume_with_other_inputs_is_refused(tmp_path: Path) -> None:
    j = Journal.create(tmp_path / "run.db", {})
    _run(j, seed=5)
    j.close()
    # Outcomes come from the journal (the driver is not asked again), so a changed decision shows a changed input.
    with pytest.raises(InputError, match="does not match this run"):
        _run(Journal.resume(tmp_path / "run.db"), max_retries=0)


def test_journal_refuses_to_overwrite_and_to_resume_nothing(tmp_path: Path) -> None:
    j = Journal.create(tmp_path / "run.db", {})
    _run(j)
    j.close()
    with pytest.raises(InputError, match="already exists"):
        Journal.create(tmp_path / "run.db", {})
    with pytest.raises(InputError, match="not found"):
        Journal.resume(tmp_path / "missing.db")
    (tmp_path / "junk.db").write_text("not a database at all" * 100)
    with pytest.raises(InputError):
        Journal.resume(tmp_path / "junk.db")


def _args(d: Path, resume: bool = False) -> list[str]:
    args = ["simulate", "--fleet", str(d.parent / "fleet.json"), "--schedule", str(d.parent / "schedule.json"),
            "--faults", str(d.parent / "faults.json"), "--seed", "5", "--journal", str(d / "run.db"),
            "--events", str(d / "events.jsonl"), "--final-state", str(d / "after.json")]
    return [*args, "--resume"] if resume else args


def _env(crash_after: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash_after is not None:
        env[CRASH_ENV] = str(crash_after)
    return env


def _fork_cli(args: list[str], crash_after: int | None) -> int:
    """Run ``wavegate <args>`` in a forked child (the imports are already paid for); returns its pid."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            os.environ.pop(CRASH_ENV, None)
            if crash_after is not None:
                os.environ[CRASH_ENV] = str(crash_after)
            sys.argv = ["wavegate", *args]
            cli_main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        finally:
            os._exit(code)
    return pid


def _status(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _setup(tmp_path: Path) -> None:
    fl = _fleet()
    (tmp_path / "fleet.json").write_text(fl.to_json())
    (tmp_path / "schedule.json").write_text(X.schedule(fl, phase_of_region={"eastus": 0, "westus": 1}).to_json())
    (tmp_path / "faults.json").write_text(json.dumps(FAULTS))


def test_sigkill_of_the_real_command_then_resume(tmp_path: Path) -> None:
    # The end-to-end path with fresh interpreters: `python -m engine.cli simulate --journal`, killed, resumed.
    _setup(tmp_path)
    ref, run = tmp_path / "ref", tmp_path / "run"
    ref.mkdir()
    run.mkdir()
    cmd = [sys.executable, "-m", "engine.cli"]
    done = subprocess.run([*cmd, *_args(ref)], env=_env(None), capture_output=True, timeout=300)
    assert done.returncode == 3, done.stderr.decode()  # the story halts (a stopped set), so exit 3
    killed = subprocess.run([*cmd, *_args(run)], env=_env(7), capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert not (run / "events.jsonl").exists() and not (run / "after.json").exists()  # nothing half-written
    resumed = subprocess.run([*cmd, *_args(run, resume=True)], env=_env(None), capture_output=True, timeout=300)
    assert resumed.returncode == 3, resumed.stderr.decode()
    assert (run / "events.jsonl").read_bytes() == (ref / "events.jsonl").read_bytes()
    assert (run / "after.json").read_bytes() == (ref / "after.json").read_bytes()


def test_sigkill_at_random_points_then_resume_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    _setup(tmp_path)
    ref = tmp_path / "ref"
    ref.mkdir()
    load_policy(bundled_spec())  # the children inherit the warm parser cache: they pay for the run, not for lark
    assert _status(_fork_cli(_args(ref), None)) == 3
    j = Journal.resume(ref / "run.db")
    total = j.entries
    j.close()
    # Kill points: after the N-th commit (a decision durable, its action not yet taken), seeded.
    rng = random.Random(20261126)
    points = sorted(rng.sample(range(1, total // 2), 22))
    runs: list[tuple[Path, int, int | None]] = []
    for k, n in enumerate(points):
        d = tmp_path / f"kill{k}"
        d.mkdir()
        # A few runs crash a second time while resuming, then resume again.
        runs.append((d, n, rng.randrange(1, 6) if k % 7 == 0 else None))
    first = [_fork_cli(_args(d), n) for d, n, _ in runs]
    for (d, n, _), pid in zip(runs, first, strict=True):
        assert _status(pid) == -signal.SIGKILL, f"kill point {n}"
        assert not (d / "events.jsonl").exists() and not (d / "after.json").exists()  # nothing half-written
    second = [_fork_cli(_args(d, resume=True), again) for d, _, again in runs]
    for (_, n, again), pid in zip(runs, second, strict=True):
        assert _status(pid) == (-signal.SIGKILL if again else 3), f"kill point {n}"
    third = [_fork_cli(_args(d, resume=True), None) for d, _, again in runs if again]
    for pid in third:
        assert _status(pid) == 3
    want_events = (ref / "events.jsonl").read_bytes()
    want_state = (ref / "after.json").read_bytes()
    starts = [json.loads(line) for line in want_events.decode().splitlines()]
    keys = [(e["vm"], e["extension"], e.get("detail", {}).get("attempt", 1)) for e in starts
            if e["event"] == "install_started"]
    assert len(keys) == len(set(keys))  # no task applied twice
    for d, n, _ in runs:
        assert (d / "events.jsonl").read_bytes() == want_events, f"kill point {n}: events differ"
        assert (d / "after.json").read_bytes() == want_state, f"kill point {n}: final state differs"
