"""A crash-safe journal of one run in SQLite (WAL, ``synchronous=FULL``): decisions and driver outcomes in order.

Write-ahead discipline: the executor appends its decisions (:meth:`Journal.decide`) and, before every driver action
(:meth:`Journal.act`), commits everything appended so far; the action's outcome is appended after it and committed
with the next action (or at the end).  So a decision is durable before anything acts on it, and an outcome is never
lost unless its action can be re-issued (drivers are idempotent per ``(task, attempt)``, see ``engine.run.driver``).

Resume re-runs the executor from the start against the journal: each decision must equal the recorded one (else the
inputs changed: :class:`InputError`), each recorded outcome is returned instead of calling the driver again, and at
the end of the journal the run goes live.  The executor is deterministic, so the resumed run's events and final
state equal those of an uninterrupted run.

For the crash test, ``WAVEGATE_JOURNAL_CRASH_AFTER=N`` makes the process SIGKILL itself right after its N-th commit.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from dsl.diagnostics import Diagnostic
from engine.model.errors import InputError

T = TypeVar("T")
JOURNAL_FORMAT = "wavegate-journal-1"
CRASH_ENV = "WAVEGATE_JOURNAL_CRASH_AFTER"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL);
"""


def _err(msg: str, hint: str | None = None) -> InputError:
    return InputError([Diagnostic("E-JOURNAL", msg, hint=hint)])


class Journal:
    """One run's journal; open with :meth:`create` (new run) or :meth:`resume` (continue a killed run)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, entries: list[tuple[str, str]],
                 crash_after: int | None) -> None:
        self._conn = conn
        self.path = path
        self._replay = entries  # recorded (kind, payload) still to be matched, in order
        self._pos = 0
        self._next_seq = len(entries)
        self._pending: list[tuple[int, str, str]] = []
        self._commits = 0
        self._crash_after = crash_after
        self.replayed = 0

    # -- opening ---------------------------------------------------------------------------------------------

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(str(path), isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise _err(f"cannot open journal {path}: {e}", "is it a wavegate journal? remove it to start afresh") from None
        return conn

    @staticmethod
    def _crash_setting() -> int | None:
        raw = os.environ.get(CRASH_ENV)
        return int(raw) if raw and raw.isdigit() else None

    @classmethod
    def create(cls, path: str | Path, meta: Mapping[str, str]) -> Journal:
        p = Path(path)
        if p.exists() and p.stat().st_size > 0:
            raise _err(f"journal {p} already exists",
                       "pass --resume to continue that run, or remove the file to start a new one")
        p.parent.mkdir(parents=True, exist_ok=True)
        conn = cls._connect(p)
        with conn:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO meta VALUES ('format', ?)", (JOURNAL_FORMAT,))
            conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        return cls(conn, p, [], cls._crash_setting())

    @classmethod
    def resume(cls, path: str | Path) -> Journal:
        p = Path(path)
        if not p.exists():
            raise _err(f"journal {p} not found", "run without --resume to start a new journaled run")
        conn = cls._connect(p)
        try:
            fmt = conn.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if fmt is None or fmt[0] != JOURNAL_FORMAT:
                raise _err(f"{p} is not a wavegate journal (format {fmt[0] if fmt else 'missing'})")
            rows = conn.execute("SELECT seq, kind, payload FROM entries ORDER BY seq").fetchall()
        except sqlite3.DatabaseError as e:
            raise _err(f"cannot read journal {p}: {e}") from None
        for i, (seq, _, _) in enumerate(rows):
            if seq != i:
                raise _err(f"journal {p} has a gap at entry {i}")
        return cls(conn, p, [(k, v) for _, k, v in rows], cls._crash_setting())

    def meta(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, key: str, value: str) -> None:
        self.commit()
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- recording -------------------------------------------------------------------------------------------

    @property
    def replaying(self) -> bool:
        return self._pos < len(self._replay)

    def decide(self, kind: str, payload: Any) -> None:
        """Record a decision (committed before the next action); on replay, check it equals the recorded one."""
        text = json.dumps(payload, separators=(",", ":"))
        if self._pos < len(self._replay):
            rec_kind, rec = self._replay[self._pos]
            if rec_kind != kind or rec != text:
                raise _err(
                    f"journal {self.path} does not match this run at entry {self._pos}: recorded {rec_kind} {rec[:120]}, "
                    f"now {kind} {text[:120]}",
                    "resume with the same spec, fleet, schedule, fault script, seed and retries, or start a new journal",
                )
            self._pos += 1
            self.replayed += 1
            return
        self._pending.append((self._next_seq, kind, text))
        self._next_seq += 1

    def act(self, kind: str, action: Callable[[], T], encode: Callable[[T], Any],
            decode: Callable[[Any], T]) -> T:
        """Perform a driver action once: on replay return its recorded outcome; live, commit all decisions first,
        act, then append the outcome."""
        if self._pos < len(self._replay):
            rec_kind, rec = self._replay[self._pos]
            if rec_kind != kind:
                raise _err(f"journal {self.path} does not match this run at entry {self._pos}: "
                           f"recorded {rec_kind}, now {kind}")
            self._pos += 1
            self.replayed += 1
            return decode(json.loads(rec))
        self.commit()
        outcome = action()
        self._pending.append((self._next_seq, kind, json.dumps(encode(outcome), separators=(",", ":"))))
        self._next_seq += 1
        return outcome

    def commit(self) -> None:
        if not self._pending:
            return
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT INTO entries VALUES (?, ?, ?)", self._pending)
        self._pending.clear()
        self._commits += 1
        if self._crash_after is not None and self._commits >= self._crash_after:
            os.kill(os.getpid(), signal.SIGKILL)

    @property
    def commits(self) -> int:
        """Commits made by this process (what ``WAVEGATE_JOURNAL_CRASH_AFTER`` counts)."""
        return self._commits

    @property
    def entries(self) -> int:
        return self._next_seq

    def close(self) -> None:
        self.commit()
        self._conn.close()
