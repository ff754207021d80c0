"""A crash-safe journal of one run in SQLite (WAL, ``synchronous=FULL``): decisions and driver outcomes in order.

Write-ahead discipline: the executor appends its decisions (:meth:`Journal.decide`) and, before every driver action
(:meth:`Journal.act`), commits everything appended so far; the action's outcome is appended after it and committed
with the next action (or at the end).  So a decision is durable before anything acts on it, and an outcome is never
lost unless its action can be re-issued (drivers are idempotent per ``(task, attempt)``, see ``engine.run.driver``).

Resume re-runs the executor from the start against the journal: each decision must equal the recorded one (else the
inputs changed: :class:`InputError`), each recorded outcome is returned instead of calling the driver again, and at
the end of the journal the run goes live.  The executor is deterministic, so the resumed run's events and final
state equal those of an uninterrupted run.

What cannot go wrong (issue 11):

* a journal file appears under its name only once its header (``meta``) is committed: it is built under a
  temporary name and linked into place; a journal with no committed entry (a kill before the first commit, or a
  file an older version left half-made) is a fresh start, both for a new run and for ``--resume``;
* one process at a time: an exclusive ``flock`` on the journal file, held while it is open (a second ``--resume``
  is refused in one line);
* every entry carries the sha256 of the previous entry's hash, its kind and its payload (a hash chain whose seed is
  the digest of the header), all verified on resume: one changed digit is a corrupt journal, not a different run;
* a database that is not a wavegate journal is refused after reading its table names only: no table added, no WAL
  switch; every SQLite or decoding error is an ``E-JOURNAL`` diagnostic.

For the crash test, ``WAVEGATE_JOURNAL_CRASH_AFTER=N`` makes the process SIGKILL itself right after its N-th commit.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
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
JOURNAL_FORMAT = "wavegate-journal-2"
CRASH_ENV = "WAVEGATE_JOURNAL_CRASH_AFTER"
OUR_TABLES = frozenset({"meta", "entries"})
UNSEALED_META = frozenset({"meta_sha256", "finished"})  # meta rows not covered by the header digest

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, chain TEXT NOT NULL);
"""


def _err(msg: str, hint: str | None = None) -> InputError:
    return InputError([Diagnostic("E-JOURNAL", msg, hint=hint)])


def chain_link(prev: str, kind: str, payload: str) -> str:
    """The hash of one entry: of the previous entry's (the header's digest for the first), its kind and payload."""
    return hashlib.sha256(f"{prev}\x00{kind}\x00{payload}".encode()).hexdigest()


def meta_digest(meta: Mapping[str, str]) -> str:
    """The seed of the hash chain: the digest of the header rows (``finished`` and the digest itself left out)."""
    rows = sorted((k, v) for k, v in meta.items() if k not in UNSEALED_META)
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def _lock(path: Path) -> int:
    """An exclusive flock on the journal file, or a one-line refusal when another run holds it.  (flock and
    SQLite's POSIX locks do not interact on Linux; the descriptor is closed only after SQLite's connection.)"""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        raise _err(f"cannot open journal {path}: {e.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise _err(f"journal {path} is in use by another wavegate run",
                   "wait for it to finish (or end it), then resume again") from None
    return fd


def _connect(path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(str(path), isolation_level=None)
    except sqlite3.Error as e:
        raise _err(f"cannot open journal {path}: {e}") from None


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


class _Contents:
    """What a journal file holds, read without changing it: None when it is no journal of any run yet."""

    def __init__(self, meta: dict[str, str], rows: list[tuple[Any, ...]]) -> None:
        self.meta = meta
        self.rows = rows


def _read(conn: sqlite3.Connection, path: Path) -> _Contents | None:
    """Read-only inspection: the table names first (a foreign database is refused untouched), then the rows.
    None: nothing committed yet (a fresh start)."""
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables <= OUR_TABLES:
            shown = ", ".join(sorted(tables - OUR_TABLES)[:5])
            raise _err(f"{path} is not a wavegate journal (it holds other tables: {shown})",
                       "name a new file with --journal; this one was left untouched")
        if "entries" not in tables or "meta" not in tables:
            return None
        meta = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta")}
        if conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 0:
            return None
        fmt = meta.get("format")
        if fmt != JOURNAL_FORMAT:
            raise _err(f"{path} is not a journal this wavegate can resume (format {fmt or 'missing'}, "
                       f"expected {JOURNAL_FORMAT})", "finish it with the wavegate that wrote it, or start afresh")
        rows = conn.execute("SELECT * FROM entries ORDER BY seq").fetchall()
    except sqlite3.Error as e:
        raise _err(f"cannot read journal {path}: {e}", "is it a wavegate journal? name a new file to start afresh") \
            from None
    return _Contents(meta, rows)


def _verified(contents: _Contents, path: Path) -> list[tuple[str, str]]:
    """The entries, each checked against the hash chain (seeded by the header's digest)."""
    prev = contents.meta.get("meta_sha256")
    if prev is None or prev != meta_digest(contents.meta):
        raise _err(f"journal {path} is corrupt: its header does not match its digest",
                   "the journal was changed outside wavegate; start a new one")
    out: list[tuple[str, str]] = []
    for i, row in enumerate(contents.rows):
        if len(row) != 4 or row[0] != i or not all(isinstance(x, str) for x in row[1:]):
            raise _err(f"journal {path} is corrupt at entry {i} (a missing or malformed row)",
                       "the journal was changed outside wavegate; start a new one")
        _, kind, payload, chain = row
        prev = chain_link(prev, kind, payload)
        if chain != prev:
            raise _err(f"journal {path} is corrupt at entry {i} (its checksum does not match)",
                       "the journal was changed outside wavegate; start a new one")
        out.append((kind, payload))
    return out


def _inspect(p: Path) -> tuple[_Contents | None, int]:
    """Lock the file and read it without changing it; the caller closes the lock's descriptor."""
    fd = _lock(p)
    try:
        conn = _connect(p)
        try:
            return _read(conn, p), fd
        finally:
            conn.close()
    except BaseException:
        os.close(fd)
        raise


def _place(tmp: Path, p: Path) -> None:
    """Give the finished header file its name without clobbering a journal another run created meanwhile."""
    try:
        os.link(tmp, p)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links
        if p.exists():
            raise FileExistsError(str(p)) from None
        os.replace(tmp, p)


class Journal:
    """One run's journal; open with :meth:`create` (new run) or :meth:`resume` (continue a killed run)."""

    def __init__(self, conn: sqlite3.Connection, lock: int, path: Path, entries: list[tuple[str, str]],
                 chain: str, crash_after: int | None) -> None:
        self._conn = conn
        self._lock = lock
        self.path = path
        self._replay = entries  # recorded (kind, payload) still to be matched, in order
        self._pos = 0
        self._next_seq = len(entries)
        self._chain = chain
        self._pending: list[tuple[int, str, str, str]] = []
        self._commits = 0
        self._crash_after = crash_after
        self.replayed = 0

    # -- opening ---------------------------------------------------------------------------------------------

    @staticmethod
    def _crash_setting() -> int | None:
        raw = os.environ.get(CRASH_ENV)
        return int(raw) if raw and raw.isdigit() else None

    @classmethod
    def create(cls, path: str | Path, meta: Mapping[str, str]) -> Journal:
        """A new journal at ``path``; an existing file is replaced only when it holds no committed entry."""
        p = Path(path)
        if p.exists():
            contents, fd = _inspect(p)
            try:
                if contents is not None:
                    raise _err(f"journal {p} already exists",
                               "pass --resume to continue that run, or remove the file to start a new one")
                _remove(p)  # nothing was committed in it: a fresh start
            finally:
                os.close(fd)
        p.parent.mkdir(parents=True, exist_ok=True)
        header = {"format": JOURNAL_FORMAT, **meta}
        header["meta_sha256"] = meta_digest(header)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.new")
        _remove(tmp)
        try:
            conn = _connect(tmp)
            try:
                conn.executescript(_SCHEMA)
                with conn:
                    conn.execute("BEGIN")
                    conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(header.items()))
            finally:
                conn.close()
            _place(tmp, p)
        except FileExistsError:
            raise _err(f"journal {p} already exists", "another run created it just now") from None
        except (OSError, sqlite3.Error) as e:
            raise _err(f"cannot create journal {p}: {e}") from None
        finally:
            _remove(tmp)
        return cls._open(p, [], header["meta_sha256"])

    @classmethod
    def _open(cls, p: Path, entries: list[tuple[str, str]], chain: str, lock: int | None = None) -> Journal:
        fd = _lock(p) if lock is None else lock
        conn = _connect(p)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as e:
            conn.close()
            os.close(fd)
            raise _err(f"cannot open journal {p}: {e}") from None
        return cls(conn, fd, p, entries, chain, cls._crash_setting())

    @classmethod
    def resume(cls, path: str | Path) -> Journal | None:
        """The journal of a killed run, verified and locked; None when it holds no committed entry (nothing was
        decided yet: start afresh with :meth:`create`)."""
        p = Path(path)
        if not p.exists():
            raise _err(f"journal {p} not found", "run without --resume to start a new journaled run")
        contents, fd = _inspect(p)
        if contents is None:
            os.close(fd)
            return None
        try:
            entries = _verified(contents, p)
        except BaseException:
            os.close(fd)
            raise
        chain = contents.rows[-1][3] if contents.rows else contents.meta["meta_sha256"]
        return cls._open(p, entries, chain, fd)

    def meta(self) -> dict[str, str]:
        try:
            return {str(k): str(v) for k, v in self._conn.execute("SELECT key, value FROM meta")}
        except sqlite3.Error as e:
            raise _err(f"cannot read journal {self.path}: {e}") from None

    def set_meta(self, key: str, value: str) -> None:
        """Set a meta row outside the header's digest (``finished``)."""
        if key not in UNSEALED_META:
            raise ValueError(f"meta {key!r} is part of the journal's header")
        self.commit()
        self._write(lambda c: c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value)))

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
        self._append(kind, text)

    def _append(self, kind: str, text: str) -> None:
        self._chain = chain_link(self._chain, kind, text)
        self._pending.append((self._next_seq, kind, text, self._chain))
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
            try:
                outcome = decode(json.loads(rec))
            except (ValueError, TypeError, KeyError, IndexError, RecursionError):
                raise _err(f"journal {self.path}: entry {self._pos} ({kind}) cannot be decoded",
                           "the journal was written by another version or changed; start a new one") from None
            self._pos += 1
            self.replayed += 1
            return outcome
        self.commit()
        outcome = action()
        self._append(kind, json.dumps(encode(outcome), separators=(",", ":")))
        return outcome

    def _write(self, do: Callable[[sqlite3.Connection], object]) -> None:
        try:
            with self._conn:
                self._conn.execute("BEGIN")
                do(self._conn)
        except sqlite3.Error as e:
            raise _err(f"cannot write journal {self.path}: {e}") from None

    def commit(self) -> None:
        if not self._pending:
            return
        pending = self._pending
        self._write(lambda c: c.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", pending))
        self._pending = []
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
        try:
            self.commit()
        finally:
            self._conn.close()
            os.close(self._lock)


def check_not_journal(journal: Path | None, outputs: Mapping[str, Path | None]) -> None:
    """Refuse an output (``--events``, ``--final-state``, ``--report``) that names the journal or its WAL files."""
    if journal is None:
        return
    mine = {journal.resolve(), Path(f"{journal}-wal").resolve(), Path(f"{journal}-shm").resolve()}
    for option, out in outputs.items():
        if out is not None and str(out) != "-" and out.resolve() in mine:
            raise InputError([Diagnostic("E-USAGE", f"{option} {out} would overwrite the journal {journal}",
                                         hint="write the output to another file")])
