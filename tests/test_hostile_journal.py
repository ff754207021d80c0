"""Issue 11, item 3: a journal that cannot get stuck, cannot be raced, cannot be changed silently, and leaves a
database that is not its own untouched."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from hostile_support import FLEET, SPEC, run

from engine.run.journal import JOURNAL_FORMAT, Journal, chain_link, meta_digest

FAULTS = {"vm_failures": [{"vm": "web-0", "extension": "mon", "attempts": 1}]}


def _args(tmp: Path, *extra: str | Path) -> list[str | Path]:
    faults = tmp / "faults.json"
    if not faults.exists():
        faults.write_text(json.dumps(FAULTS))
    return ["simulate", "--spec", SPEC, "--fleet", FLEET, "--faults", faults, "--seed", "3",
            "--journal", tmp / "run.db", *extra]


@pytest.fixture
def finished(tmp_path: Path) -> tuple[Path, bytes]:
    """A journal of a whole run, and the events of that run."""
    code, _, err = run(*_args(tmp_path, "--events", tmp_path / "ref.jsonl"))
    assert code in (0, 3), err
    return tmp_path / "run.db", (tmp_path / "ref.jsonl").read_bytes()


def _sql(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    for st in statements:
        conn.execute(st)
    conn.close()


def test_resume_replays_to_the_same_end(tmp_path: Path, finished: tuple[Path, bytes]) -> None:
    _, ref = finished
    code, out, _ = run(*_args(tmp_path, "--resume", "--events", tmp_path / "again.jsonl"))
    assert code in (0, 3) and "resumed" in out
    assert (tmp_path / "again.jsonl").read_bytes() == ref


@pytest.mark.parametrize("kind", ["empty file", "tables only", "header only"])
def test_a_journal_without_a_committed_entry_is_a_fresh_start(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "run.db"
    db.touch()
    if kind != "empty file":
        _sql(db, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
             "CREATE TABLE entries (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL)")
    if kind == "header only":
        _sql(db, "INSERT INTO meta VALUES ('format', 'wavegate-journal-1')")
    for extra in (["--resume"], []):
        code, _, err = run(*_args(tmp_path, *extra))
        assert code in (0, 3), err
        db.unlink()
        db.touch()


def test_a_second_resume_is_refused_in_one_line(tmp_path: Path, finished: tuple[Path, bytes]) -> None:
    db, _ = finished
    holder = Journal.resume(db)
    assert holder is not None
    try:
        code, _, err = run(*_args(tmp_path, "--resume"))
        assert code == 2
        assert err.splitlines()[0] == f"error[E-JOURNAL]: journal {db} is in use by another wavegate run"
    finally:
        holder.close()


def test_one_changed_digit_is_a_corrupt_journal(tmp_path: Path, finished: tuple[Path, bytes]) -> None:
    db, _ = finished
    conn = sqlite3.connect(db)
    seq, payload = conn.execute("SELECT seq, payload FROM entries WHERE kind='install' ORDER BY seq LIMIT 1").fetchone()
    digit = next(c for c in payload if c.isdigit())
    conn.execute("UPDATE entries SET payload=? WHERE seq=?", (payload.replace(digit, str((int(digit) + 1) % 10), 1), seq))
    conn.commit()
    conn.close()
    code, _, err = run(*_args(tmp_path, "--resume"))
    assert code == 2 and f"is corrupt at entry {seq} (its checksum does not match)" in err


def test_a_changed_header_is_a_corrupt_journal(tmp_path: Path, finished: tuple[Path, bytes]) -> None:
    db, _ = finished
    _sql(db, "UPDATE meta SET value='7' WHERE key='seed'")
    code, _, err = run(*_args(tmp_path, "--resume"))
    assert code == 2 and "its header does not match its digest" in err


def _reseal(db: Path) -> None:
    """Recompute the header digest and the whole chain, as a writer with a bug (not an edit) would."""
    conn = sqlite3.connect(db)
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    prev = meta_digest(meta)
    conn.execute("UPDATE meta SET value=? WHERE key='meta_sha256'", (prev,))
    for seq, kind, payload in conn.execute("SELECT seq, kind, payload FROM entries ORDER BY seq").fetchall():
        prev = chain_link(prev, kind, payload)
        conn.execute("UPDATE entries SET chain=? WHERE seq=?", (prev, seq))
    conn.commit()
    conn.close()


def test_the_stored_schedule_is_verified_again_on_resume(tmp_path: Path, finished: tuple[Path, bytes]) -> None:
    db, _ = finished
    conn = sqlite3.connect(db)
    sched = json.loads(conn.execute("SELECT value FROM meta WHERE key='schedule'").fetchone()[0])
    sched["waves"] = [{**w, "index": 0} for w in sched["waves"]]  # breaks the structure, not the JSON
    conn.execute("UPDATE meta SET value=? WHERE key='schedule'", (json.dumps(sched),))
    conn.commit()
    conn.close()
    _reseal(db)  # as a bug, not an edit, would: the digest agrees
    code, _, err = run(*_args(tmp_path, "--resume"))  # no --schedule: the stored one is still verified
    assert code == 2 and f"{db}:schedule" in err and "error[E-SCHEDULE]" in err


@pytest.mark.parametrize("value", ["{not json", '{"phases": "x"}', "", '{"waves": ' + "9" * 5000 + "}"])
def test_an_unreadable_stored_schedule_is_a_diagnostic(tmp_path: Path, finished: tuple[Path, bytes],
                                                       value: str) -> None:
    db, _ = finished
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value=? WHERE key='schedule'", (value,))
    conn.commit()
    conn.close()
    _reseal(db)
    code, _, err = run(*_args(tmp_path, "--resume"))
    assert code == 2 and ("E-JOURNAL" in err or "E-SCHEDULE" in err or "E-JSON" in err)


def test_undecodable_and_short_rows_are_diagnostics(tmp_path: Path, finished: tuple[Path, bytes]) -> None:
    db, _ = finished
    conn = sqlite3.connect(db)
    conn.execute("UPDATE entries SET payload=CAST(X'FFFE00' AS TEXT) WHERE seq=2")
    conn.commit()
    conn.close()
    code, _, err = run(*_args(tmp_path, "--resume"))
    assert code == 2 and "error[E-JOURNAL]" in err
    _sql(db, "DROP TABLE entries", "CREATE TABLE entries (seq INTEGER PRIMARY KEY, kind TEXT)",
         "INSERT INTO entries VALUES (0, 'start')")
    code, _, err = run(*_args(tmp_path, "--resume"))
    assert code == 2 and "corrupt at entry 0 (a missing or malformed row)" in err


def test_a_journal_of_another_format_is_refused(tmp_path: Path, finished: tuple[Path, bytes]) -> None:
    db, _ = finished
    _sql(db, "UPDATE meta SET value='wavegate-journal-1' WHERE key='format'")
    code, _, err = run(*_args(tmp_path, "--resume"))
    assert code == 2 and f"format wavegate-journal-1, expected {JOURNAL_FORMAT}" in err


@pytest.mark.parametrize("resume", [True, False])
def test_a_foreign_database_is_left_untouched(tmp_path: Path, resume: bool) -> None:
    db = tmp_path / "run.db"
    _sql(db, "CREATE TABLE users (name TEXT)", "INSERT INTO users VALUES ('ada')")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    code, _, err = run(*_args(tmp_path, *(["--resume"] if resume else [])))
    assert code == 2 and "is not a wavegate journal (it holds other tables: users)" in err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["users"]
    conn.close()
    assert not Path(f"{db}-wal").exists()


def test_a_file_that_is_no_database_is_a_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "run.db").write_bytes(b"\x00garbage" * 300)
    code, _, err = run(*_args(tmp_path, "--resume"))
    assert code == 2 and "error[E-JOURNAL]: cannot read journal" in err


@pytest.mark.parametrize("option", ["--events", "--final-state", "--report"])
def test_an_output_naming_the_journal_is_refused(tmp_path: Path, finished: tuple[Path, bytes], option: str) -> None:
    db, _ = finished
    before = db.read_bytes()
    code, _, err = run(*_args(tmp_path, "--resume", option, db))
    assert code == 2 and "would overwrite the journal" in err
    assert db.read_bytes() == before
