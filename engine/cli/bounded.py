"""A wall-clock bound on a whole solve (``--time-limit``): the work runs in a forked child process that is killed,
with the worker processes it started, when the bound is reached.

The planner's own deadline bounds its solver calls; grouping, assembling and the independent re-check are plain
Python that cannot be interrupted from inside, and at 100k VMs they take longer than the solver.  A child process
can be stopped at any moment, and it inherits the loaded policy and fleet (fork: nothing is copied going in).  Its
answer comes back through a pipe: the result, its progress messages, or the error it raised, rebuilt in the parent
so the command reports it as if the work had run in-process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from engine.model.errors import Infeasible, InputError, SolverTimeout, WavegateError

T = TypeVar("T")
SOLVER_SHARE = 0.8  # of a bound, for the planner's own solver deadline; the rest assembles and re-checks
Say = Callable[[str], None]


class BoundedCrash(WavegateError):
    """The bounded work failed with an unexpected exception (reported as an internal error, exit 1)."""


def _answer(e: BaseException) -> tuple[str, Any]:
    if isinstance(e, Infeasible):
        return "infeasible", (e.explanation, e.conflicting_rules)
    if isinstance(e, InputError):
        return "input", (list(e.diagnostics), e.sources)
    if isinstance(e, SolverTimeout):
        return "timeout", str(e)
    if isinstance(e, WavegateError):
        return "error", (str(e), e.exit_code)
    return "crash", f"{type(e).__name__}: {e}"


def _child(fn: Callable[[Say], Any], conn: Connection) -> None:
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # a group of its own: the parent stops it and its workers at once
    # Fresh stdio objects: a thread of the parent (a progress spinner) may have held their locks at the fork, and
    # the child reports only through the pipe.
    sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    try:
        result = fn(lambda msg: conn.send(("progress", msg)))
        conn.send(("ok", result))
    except BaseException as e:  # every failure goes back to the parent, which reports it
        conn.send(_answer(e))
    finally:
        conn.close()
        os._exit(0)  # no atexit handlers, no flush of stdio buffers inherited from the parent


def _stop(proc: multiprocessing.process.BaseProcess) -> None:
    if proc.pid is not None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError, AttributeError):
        proc.kill()
    proc.join()


def _rebuild(kind: str, payload: Any) -> WavegateError:
    if kind == "infeasible":
        explanation, rules = payload
        return Infeasible(explanation, rules)
    if kind == "input":
        diags, sources = payload
        return InputError(diags, sources)
    if kind == "timeout":
        return SolverTimeout(payload)
    if kind == "error":
        message, code = payload
        err = WavegateError(message)
        err.exit_code = code
        return err
    return BoundedCrash(f"internal error in the bounded solve: {payload}")


def run_bounded(fn: Callable[[Say], T], seconds: float, say: Say, what: str) -> T:
    """``fn(say)`` in a child process, its answer returned (or its error raised) here; past ``seconds`` of wall
    clock the child and its workers are killed and SolverTimeout is raised, naming ``what`` was bounded."""
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, sender))
    deadline = time.monotonic() + seconds
    proc.start()
    with contextlib.suppress(OSError):
        os.setpgid(proc.pid or 0, proc.pid or 0)  # also from this side: no window before the child sets it
    sender.close()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not receiver.poll(left):
                raise SolverTimeout(f"no verified schedule within --time-limit {seconds:g} s (a wall-clock bound on "
                                    f"{what}); raise --time-limit")
            try:
                kind, payload = receiver.recv()
            except EOFError:
                raise BoundedCrash(f"the solve ended without an answer (exit code {proc.exitcode})") from None
            if kind == "progress":
                say(payload)
                continue
            break
    finally:
        receiver.close()
        _stop(proc)
    if kind == "ok":
        result: T = payload
        return result
    raise _rebuild(kind, payload)

