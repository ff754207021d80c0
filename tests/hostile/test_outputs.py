"""Outputs (issue 11, item 1): every file a command writes goes through engine.cli.outputs — regular files and new
paths only, symlinks written through, modes kept, `-` is stdout, stale temporaries removed, nothing half-written."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.cli.outputs import TMP_MARK, Output, check_outputs, temp_name, write_output
from engine.model.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "tests" / "fixtures" / "fleets" / "zonal-3-zones.json"
runner = CliRunner()


def plan(*args: str) -> object:
    return runner.invoke(app, ["plan", "--fleet", str(FLEET), *args])


def refused(res: object, word: str) -> None:
    assert res.exit_code == 2, res.output  # type: ignore[attr-defined]
    assert "E-IO" in res.stderr and word in res.stderr, res.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in res.output  # type: ignore[attr-defined]


def test_new_file_and_json_schedule(tmp_path: Path) -> None:
    out = tmp_path / "new" / "s.json"
    res = plan("-o", str(out))
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["waves"]
    assert [p.name for p in out.parent.iterdir()] == ["s.json"]  # no temporary file left


def test_fifo_is_refused_before_any_work(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    res = plan("-o", str(fifo))  # opening a FIFO for writing would block: refused from its stat alone
    refused(res, "FIFO")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_directory_is_refused(tmp_path: Path) -> None:
    res = plan("-o", str(tmp_path))
    refused(res, "folder")
    assert list(tmp_path.iterdir()) == []


def test_character_device_is_refused() -> None:
    res = plan("-o", os.devnull)
    refused(res, "character device")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        refused(plan("-o", str(path)), "socket")


def test_path_under_a_regular_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    refused(plan("-o", str(f / "s.json")), "not a folder")
    refused(plan("-o", str(f / "deeper" / "s.json")), "not a folder")
    assert f.read_text() == "x"


def test_symlink_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert plan("-o", str(link)).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads(real.read_text())["waves"]


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "target.json")
    write_output(link, "hello\n")
    assert link.is_symlink() and (tmp_path / "target.json").read_text() == "hello\n"


def test_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "null"
    link.symlink_to(os.devnull)
    refused(plan("-o", str(link)), "character device")
    assert link.is_symlink()


def test_existing_mode_is_kept(tmp_path: Path) -> None:
    f = tmp_path / "s.json"
    f.write_text("old")
    f.chmod(0o644)
    write_output(f, "new")
    assert stat.S_IMODE(f.stat().st_mode) == 0o644 and f.read_text() == "new"
    f.chmod(0o640)
    write_output(f, "newer")
    assert stat.S_IMODE(f.stat().st_mode) == 0o640


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_new_file_gets_the_umask_mode(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        f = tmp_path / f"n{mask:o}.json"
        write_output(f, "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask


def test_dash_is_stdout_for_plan(tmp_path: Path) -> None:
    res = runner.invoke(app, ["plan", "--fleet", str(FLEET), "-o", "-"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["waves"]  # stdout holds the schedule alone; the summary went to stderr
    assert "waves:" in res.stderr
    assert not Path("-").exists()


def test_dash_is_stdout_for_events(tmp_path: Path) -> None:
    res = runner.invoke(app, ["simulate", "--fleet", str(FLEET), "--events", "-"], catch_exceptions=False)
    assert res.exit_code in (0, 3), res.output
    lines = res.stdout.splitlines()
    assert lines and all(json.loads(line)["event"] for line in lines)
    assert "outcome:" in res.stderr
    assert not Path("-").exists()


def test_failure_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "s.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), Output(target) as out:
        out.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_temp_name_is_recognisable(tmp_path: Path) -> None:
    out = Output(tmp_path / "s.json")
    try:
        names = [p.name for p in tmp_path.iterdir()]
        assert names == [f".s.json{TMP_MARK}{os.getpid()}"]
    finally:
        out.abort()
    assert list(tmp_path.iterdir()) == []


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    target = tmp_path / "s.json"
    stale = temp_name(target, dead_pid)
    stale.write_text("half-written by a killed run")
    live = temp_name(target, os.getppid())  # a live process: left alone
    live.write_text("being written")
    other = tmp_path / f".other.json{TMP_MARK}{dead_pid}"  # another target's: left alone
    other.write_text("x")
    write_output(target, "whole")
    assert not stale.exists() and live.exists() and other.exists()
    assert target.read_text() == "whole"


def test_killed_writer_leaves_only_a_temporary_that_the_next_run_removes(tmp_path: Path) -> None:
    target = tmp_path / "s.json"
    code = (f"import os, sys; sys.path.insert(0, {str(ROOT)!r}); from engine.cli.outputs import Output; "
            f"o = Output({str(target)!r}); o.write('half'); os._exit(9)")
    subprocess.run([sys.executable, "-c", code], check=False)
    assert not target.exists() and len(list(tmp_path.iterdir())) == 1
    write_output(target, "whole")
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_check_outputs_reports_every_problem(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p")
    with pytest.raises(InputError) as e:
        check_outputs(tmp_path, tmp_path / "p", "-", None, tmp_path / "ok.json")
    assert [d.code for d in e.value.diagnostics] == ["E-IO", "E-IO"]


@pytest.mark.parametrize("cmd", [
    ["simulate", "--fleet", str(FLEET), "--events"],
    ["simulate", "--fleet", str(FLEET), "--final-state"],
    ["plan", "--fleet", str(FLEET), "--report"],
    ["prove", str(ROOT / "proofs"), "-o"],
    ["diff", str(ROOT / "specs" / "azure-default.wg"), str(ROOT / "specs" / "azure-default.wg"), "-o"],
    ["risk", "--output"],
    ["import", "rest", str(ROOT / "tests" / "fixtures" / "import" / "rest" / "rest-vms-page.json"), "-o"],
])
def test_every_output_option_refuses_a_folder(tmp_path: Path, cmd: list[str]) -> None:
    res = runner.invoke(app, [*cmd, str(tmp_path)])
    refused(res, "folder")
    assert list(tmp_path.iterdir()) == []


def test_fmt_writes_through_a_symlinked_policy(tmp_path: Path) -> None:
    real = tmp_path / "real.wg"
    real.write_text("policy   a\nrule w:   at most 3 waves\n")
    real.chmod(0o644)
    link = tmp_path / "a.wg"
    link.symlink_to(real)
    res = runner.invoke(app, ["fmt", str(link)])
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and real.read_text() == "policy a\nrule w: at most 3 waves\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o644


def test_dash_is_stdout_for_import_report_and_diff(tmp_path: Path) -> None:
    rest = ROOT / "tests" / "fixtures" / "import" / "rest" / "rest-vms-page.json"
    res = runner.invoke(app, ["import", "rest", str(rest), "-o", "-"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["vms"] and "-> stdout" in res.stderr
    sched = tmp_path / "s.json"
    assert plan("-o", str(sched)).exit_code == 0
    res = runner.invoke(app, ["report", "--schedule", str(sched), "--fleet", str(FLEET), "-o", "-"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("<!DOCTYPE html>") and "report written to stdout" in res.stderr
    spec = str(ROOT / "specs" / "azure-default.wg")
    res = runner.invoke(app, ["diff", spec, spec, "-o", "-", "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.stdout)
    assert not Path("-").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_root_keeps_a_replaced_files_owner(tmp_path: Path) -> None:
    f = tmp_path / "s.json"
    f.write_text("old")
    os.chown(f, 12345, 23456)
    write_output(f, "new")
    st = f.stat()
    assert (st.st_uid, st.st_gid) == (12345, 23456) and f.read_text() == "new"


def test_a_full_disk_is_an_io_error_and_leaves_nothing(tmp_path: Path) -> None:
    import errno

    target = tmp_path / "s.json"
    target.write_text("old")
    out = Output(target)

    def full(_text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    out._stream.write = full  # type: ignore[method-assign]
    with pytest.raises(InputError) as e:
        out.write_lines(["a", "b"])
    assert e.value.diagnostics[0].code == "E-IO" and "No space left" in e.value.diagnostics[0].message
    out.abort()
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["s.json"]
