"""SIGKILL ``wavegate simulate --journal`` at random moments, resume each run to its end, and compare the outputs
byte for byte with an uninterrupted run (issue 11, item 8).

    python bench/crash_resume.py --kills 100 --seed 1 [--vms 300]

A seeded fleet (``engine.model.generator``) is planned under the bundled Azure default and run with a fault script
that makes rollbacks, retries and a stopped set, so the journal has hundreds of entries.  Every run is a forked
child of this (warm) process running the CLI entry ``engine.cli.main``, so a kill lands in the run, not in Python's
start-up.  Each trial: a fresh journaled run is killed after a random delay (a fifth of them from the start to just
after the journal file appears, a fifth between then and its first entry, the rest from the first entry to past
the end of an uninterrupted run); then the same
command with ``--resume`` (or without it, when the kill came before the journal file existed) is run again, and with
probability ``--again`` that resume is itself killed at a random moment; until a run ends on its own.  Its event log
and final state must equal the uninterrupted run's, byte for byte.  A kill that comes after the child already
exited is not counted.  Prints the counts; exit 1 on any mismatch or unexpected exit status.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dsl.loader import load_policy  # noqa: E402
from engine.api import plan  # noqa: E402
from engine.cli import main as cli_main  # noqa: E402
from engine.model.fleet import parse_fleet  # noqa: E402
from engine.model.generator import generate  # noqa: E402
from engine.model.resources import bundled_spec  # noqa: E402
from engine.run.journal import CRASH_ENV  # noqa: E402

DONE = (0, 3)  # completed, or halted by a policy gate: both are the end of a run


def setup(work: Path, vms: int) -> None:
    data = generate(vms, 7)
    fleet = parse_fleet(data)
    (work / "fleet.json").write_text(fleet.to_json())
    schedule = plan(load_policy(bundled_spec()), fleet, time_limit=60)
    (work / "schedule.json").write_text(schedule.to_json())
    task = schedule.waves[0].tasks[0]
    ext = next(e for e in fleet.vm_by_name[task.vm].extensions if e.name == task.extension)
    later = [t for w in schedule.waves[1:] for t in w.tasks]
    faults = {
        "bad_versions": [{"publisher": ext.publisher, "type": ext.type, "version": task.to_version, "fail_rate": 0.3}],
        "vm_failures": [{"vm": t.vm, "extension": t.extension, "attempts": 1} for t in later[:: max(1, len(later) // 8)]],
        "maintenance": [{"at_minutes": 3, "vms": [t.vm for t in later[:4]], "minutes": 20}],
        "slow_installs": [{"vm": later[-1].vm, "minutes": 9}],
    }
    (work / "faults.json").write_text(json.dumps(faults))


def args(work: Path, run: Path, resume: bool) -> list[str]:
    out = ["simulate", "--fleet", str(work / "fleet.json"), "--schedule", str(work / "schedule.json"),
           "--faults", str(work / "faults.json"), "--seed", "5", "--journal", str(run / "run.db"),
           "--events", str(run / "events.jsonl"), "--final-state", str(run / "after.json")]
    return [*out, "--resume"] if resume else out


def fork(argv: list[str]) -> int:
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 99
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            os.environ.pop(CRASH_ENV, None)
            sys.argv = ["wavegate", *argv]
            cli_main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        finally:
            os._exit(code)
    return pid


def run_killed(argv: list[str], delay: float | None, after: Callable[[], bool] | None = None) -> int:
    """Run; with a delay, SIGKILL it then (if still running), counted from the start or, with ``after``, from
    when that becomes true.  The exit status, or -9 when the kill landed."""
    pid = fork(argv)
    if delay is not None:
        deadline = None if after is not None else time.monotonic() + delay
        while deadline is None or time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
            if deadline is None and after is not None and after():
                deadline = time.monotonic() + delay
            time.sleep(0.001)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def reference_run(argv: list[str], journal: Path) -> tuple[int, float, float, float]:
    """The uninterrupted run: its exit status, when its journal file appeared, when its first entry was written
    (the WAL file appears) and how long it took (seconds from the start)."""
    t0 = time.monotonic()
    pid = fork(argv)
    opened = first = None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if opened is None and journal.exists():
            opened = time.monotonic() - t0
        if first is None and _written(journal):
            first = time.monotonic() - t0
        if done:
            length = time.monotonic() - t0
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
            return code, opened or 0.0, first or opened or 0.0, length
        time.sleep(0.001)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=100, help="SIGKILLs that must land (first runs and resumes)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--again", type=float, default=0.35, help="chance that a resume is killed too")
    opts = ap.parse_args()
    rng = random.Random(opts.seed)
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="wavegate-crash-", dir=shm if shm.is_dir() else None) as tmp:
        work = Path(tmp)
        setup(work, opts.vms)
        ref = work / "ref"
        ref.mkdir()
        status, opened, first, length = reference_run(args(work, ref, False), ref / "run.db")
        if status not in DONE:
            print(f"the uninterrupted run ended with exit {status}")
            return 1
        want = ((ref / "events.jsonl").read_bytes(), (ref / "after.json").read_bytes())
        entries = _entries(ref / "run.db")
        counts: Counter[str] = Counter()
        bad: list[str] = []
        trial = 0
        start = time.monotonic()
        while counts["kills"] < opts.kills:
            trial += 1
            run = work / f"t{trial}"
            run.mkdir()
            # A fifth of the kills around the journal's creation (from the start), the rest once the journal file
            # exists, anywhere up to past the end of the run (while it is written, or the outputs are).
            where = rng.random()
            db = run / "run.db"
            if where < 0.2:
                status = run_killed(args(work, run, False), rng.uniform(0, opened + 0.05))
            elif where < 0.4:
                status = run_killed(args(work, run, False), rng.uniform(0, first - opened + 0.02), db.exists)
            else:
                status = run_killed(args(work, run, False), rng.uniform(0, 1.1 * (length - first)),
                                    functools.partial(_written, db))
            if status == -signal.SIGKILL:
                counts["kills"] += 1
                counts["kills of a first run"] += 1
            rounds = 0
            while status not in DONE:
                if status != -signal.SIGKILL:
                    bad.append(f"trial {trial}: exit {status}")
                    break
                rounds += 1
                resume = (run / "run.db").exists()
                counts[_stage(run / "run.db")] += 1
                again = rng.uniform(0, 1.2 * length) if rng.random() < opts.again and rounds < 4 else None
                status = run_killed(args(work, run, resume), again)
                if status == -signal.SIGKILL:
                    counts["kills"] += 1
                    counts["kills of a resume" if resume else "kills of a restart"] += 1
            counts["trials"] += 1
            if status in DONE:
                got = ((run / "events.jsonl").read_bytes(), (run / "after.json").read_bytes())
                counts["byte-identical" if got == want else "different"] += 1
                if got != want:
                    bad.append(f"trial {trial}: outputs differ")
            for f in run.iterdir():
                f.unlink()
            run.rmdir()
        elapsed = time.monotonic() - start
    print(f"crash_resume: {opts.vms} VMs, {entries} journal entries, uninterrupted run {length:.2f} s (journal "
          f"created at {opened:.2f} s, first entry at {first:.2f} s); {elapsed:.0f} s in all")
    for key in ("trials", "kills", "kills of a first run", "kills of a resume", "kills of a restart",
                "killed before the journal file existed", "killed with no entry committed",
                "killed mid-run (entries committed)", "killed after the run (writing outputs)", "byte-identical",
                "different"):
        print(f"  {key:<40} {counts[key]:>6}")
    for line in bad[:20]:
        print(f"  problem: {line}")
    return 1 if bad or counts["different"] else 0


def _written(journal: Path) -> bool:
    """The journal's first entry is committed: its WAL holds a frame (past the 32-byte header)."""
    try:
        return os.path.getsize(f"{journal}-wal") > 32
    except OSError:
        return False


def _stage(db: Path) -> str:
    """Where a kill landed, read from the journal it left."""
    if not db.exists():
        return "killed before the journal file existed"
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        n = int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
        finished = conn.execute("SELECT 1 FROM meta WHERE key='finished'").fetchone() is not None
    finally:
        conn.close()
    if finished:
        return "killed after the run (writing outputs)"
    return "killed mid-run (entries committed)" if n else "killed with no entry committed"


def _entries(db: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
