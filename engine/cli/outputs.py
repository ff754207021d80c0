"""Every file a command writes goes through here: a whole file or nothing, and only where a file belongs.

* ``-`` is standard output, for every output option (``-o -``, ``--events -``).
* The target may be a regular file (replaced, keeping its mode, and its owner where the process may) or a new path (created with the umask's mode); a
  device node, FIFO, socket or folder, or a path under a regular file, is refused with E-IO (exit 2) — before any
  work when the command checks its outputs first (:func:`check_outputs`), and again when the file is written.
* A symlink is written through: its target is replaced, the link stays.
* The text goes to a temporary file next to the target, ``.<name>.wavegate-tmp-<pid>``, which is fsynced, renamed
  over the target, and the folder fsynced; on any failure the temporary file is removed and the target is untouched.
  A temporary file left by a killed run (its pid no longer alive) is removed by the next write of the same target.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path
from types import TracebackType
from typing import NoReturn, TextIO

from dsl.diagnostics import Diagnostic
from engine.model.errors import InputError

STDOUT = "-"
TMP_MARK = ".wavegate-tmp-"
_WRITE_CHUNK = 2048  # lines per write call (see write_lines)


def is_stdout(path: str | Path | None) -> bool:
    return path is not None and str(path) == STDOUT


def _refuse(path: str | Path, why: str, hint: str | None = None) -> InputError:
    return InputError([Diagnostic("E-IO", f"cannot write `{path}`: {why}", None, hint=hint)])


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, word in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"


def resolve_target(path: str | Path) -> Path:
    """The file a write of ``path`` replaces: symlinks followed (a dangling one names the file to create), and
    refused with E-IO unless it is a regular file or a new name in an existing (or creatable) folder."""
    given = Path(path)
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    try:
        st = target.stat()
    except FileNotFoundError:
        _check_parent(path, target.parent)
        return target
    except NotADirectoryError:
        raise _refuse(path, "a part of the path is a file, not a folder") from None
    except OSError as e:
        raise _refuse(path, e.strerror or str(e)) from None
    kind = _kind(st.st_mode)
    if kind is not None:
        hint = "name a file inside it" if stat.S_ISDIR(st.st_mode) else "name a regular file, or - for stdout"
        raise _refuse(path, f"it is {kind}", hint)
    return target


def _check_parent(path: str | Path, folder: Path) -> None:
    """The nearest existing ancestor of ``folder`` must be a folder (missing folders are created on write)."""
    probe = folder
    while True:
        try:
            st = probe.stat()
        except FileNotFoundError:
            if probe.parent == probe:
                return
            probe = probe.parent
            continue
        except NotADirectoryError:
            raise _refuse(path, "a part of the path is a file, not a folder") from None
        except OSError as e:
            raise _refuse(path, e.strerror or str(e)) from None
        if not stat.S_ISDIR(st.st_mode):
            raise _refuse(path, f"`{probe}` is a file, not a folder")
        return


def check_outputs(*paths: str | Path | None) -> None:
    """Refuse, before any work, outputs that could never be written (every problem at once)."""
    diags: list[Diagnostic] = []
    for p in paths:
        if p is None or is_stdout(p):
            continue
        try:
            resolve_target(p)
        except InputError as e:
            diags.extend(e.diagnostics)
    if diags:
        raise InputError(diags)


def _umask() -> int:
    """The process umask, read without changing it where Linux reports it, else by setting and restoring it."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OSError:
        return True
    return True


def temp_name(target: Path, pid: int | None = None) -> Path:
    return target.parent / f".{target.name}{TMP_MARK}{os.getpid() if pid is None else pid}"


def remove_stale(target: Path) -> list[Path]:
    """Remove the temporary files of ``target`` left by processes that are gone; the removed paths."""
    removed: list[Path] = []
    prefix = f".{target.name}{TMP_MARK}"
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix):]
        if not pid_text.isdigit() or not pid_text.isascii():
            continue
        pid = int(pid_text)
        if pid == os.getpid() or _pid_alive(pid):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Output:
    """One output being written: ``write`` text, then ``commit`` (atomic rename) or ``abort`` (nothing left).

    Used as a context manager it aborts unless committed.  For ``-`` the text goes straight to stdout."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self._done = False
        self._stream: TextIO
        self._tmp: Path | None = None
        if is_stdout(path):
            self._target: Path | None = None
            self._stream = sys.stdout
            return
        target = resolve_target(path)
        self._target = target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _refuse(path, e.strerror or str(e)) from None
        remove_stale(target)
        self._stream = self._open_temp(target)

    def _open_temp(self, target: Path) -> TextIO:
        owner: tuple[int, int] | None = None
        try:
            st = target.stat()
            mode, owner = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        except OSError as e:
            raise _refuse(self.path, e.strerror or str(e)) from None
        tmp = temp_name(target)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)  # our own pid's name: a leftover of an earlier process that had this pid
            fd = os.open(tmp, flags, 0o600)
        except OSError as e:
            raise _refuse(self.path, e.strerror or str(e)) from None
        self._tmp = tmp
        try:
            if owner is not None and owner != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):
                    os.fchown(fd, *owner)  # the replaced file keeps its owner where we may (root)
            os.fchmod(fd, mode)
        except OSError:
            os.close(fd)
            self._cleanup()
            raise
        return os.fdopen(fd, "w", encoding="utf-8", newline="\n")

    def write(self, text: str) -> None:
        try:
            self._stream.write(text)
        except OSError as e:  # a full disk, a closed pipe: E-IO, and the temporary file removed
            self._fail(e)

    def write_lines(self, lines: list[str]) -> None:
        """Each line followed by a newline (an event sink: ``engine.run.events.EventSink``)."""
        # Joined a few thousand at a time: one string of a whole wave's lines (tens of MB at a million VMs) is
        # built, encoded and freed outside the CPU cache, which measured 3x slower.
        write = self._stream.write
        try:
            for start in range(0, len(lines), _WRITE_CHUNK):
                write("\n".join(lines[start:start + _WRITE_CHUNK]))
                write("\n")
        except OSError as e:
            self._fail(e)

    def _fail(self, e: OSError) -> NoReturn:
        self._done = True
        if self._target is not None:
            self._cleanup()
        raise _refuse(self.path, e.strerror or str(e)) from None

    def commit(self) -> None:
        if self._done:
            return
        self._done = True
        if self._target is None:
            self._stream.flush()
            return
        try:
            self._stream.flush()
            os.fsync(self._stream.fileno())
            self._stream.close()
            assert self._tmp is not None
            os.replace(self._tmp, self._target)
        except OSError as e:
            self._cleanup()
            raise _refuse(self.path, e.strerror or str(e)) from None
        _fsync_dir(self._target.parent)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        if self._target is not None:
            self._cleanup()

    def _cleanup(self) -> None:
        with contextlib.suppress(OSError):
            self._stream.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)

    def __enter__(self) -> Output:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.abort()


class EventsOutput:
    """An event sink (``write(lines)``) that streams into an :class:`Output`."""

    def __init__(self, out: Output) -> None:
        self.out = out

    def write(self, lines: list[str]) -> None:
        self.out.write_lines(lines)


def write_output(path: str | Path, text: str) -> None:
    """Write a whole file (or stdout for ``-``) or nothing."""
    with Output(path) as out:
        out.write(text)
        out.commit()

