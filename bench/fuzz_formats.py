"""Fuzz the interchange formats: mutate valid fleet, schedule, fault script, fault model and event log files and run
the CLI entry in-process on each, counting internal errors and hangs (issue 11, item 8).

    python bench/fuzz_formats.py --count 10000 --seed 1 [--timeout 10] [--keep DIR]

Each input is a valid file of one format with one to three mutations: a value's type swapped (string, number,
boolean, null, array, object), a huge number (integers of 16 to 6,000 digits, 1e308, 1e999, Infinity, NaN, -0), a
value nested hundreds to thousands deep, a unicode string (full-width digits, a trailing newline, RTL marks, NUL,
rich markup, lone surrogates), a field dropped, duplicated or added, a list item repeated, or the text truncated at
a random byte or given a byte that is not UTF-8.  The command for each format reads it the way users do (``verify``,
``simulate``, ``explain``, ``report``).  An outcome is: **refused** (exit 2 with a diagnostic), **accepted** (exit 0,
1 or 3: the run went through, e.g. verify found violations), **internal** (an exception other than SystemExit
escaped the command, or "internal error" was printed), **hang** (past the per-input timeout, via SIGALRM).  Inputs
that end internal or hang are written to ``--keep`` to be replayed.  Exit status: 1 if any internal error or hang.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import typer.main  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from engine.cli import app  # noqa: E402

COMMAND = typer.main.get_command(app)  # built once: typer's own runner rebuilds it per call (0.4 s)

FIX = ROOT / "tests" / "fixtures" / "fleets"
SPEC = FIX / "rules.wg"
FLEET = FIX / "rules.json"
AMA = {"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent"}
FAULTS = {
    "bad_versions": [{**AMA, "version": "1.22", "fail_rate": 0.5}],
    "vm_failures": [{"vm": "web-0", "extension": "mon", "attempts": 1}],
    "maintenance": [{"at_minutes": 2, "vms": ["web-1", "db-0"], "minutes": 15}],
    "slow_installs": [{"vm": "can-0", "minutes": 4}],
}
FAULT_MODEL = {
    "version": 1,
    "bad_versions": [{**AMA, "version": "1.22", "probability": 0.3, "fail_rate": 0.5}],
    "any_new_version": {"probability": 0.1, "fail_rate": 0.2},
    "install_failures": {"rate": 0.05, "attempts": 1},
    "slow_installs": {"rate": 0.1, "minutes": 6},
    "maintenance": [{"per_day": 4, "minutes": 30, "vms": 2}],
    "unhealthy_at_start": {"rate": 0.02, "minutes": 10},
    "horizon_minutes": 600,
}

HUGE: list[str] = ["1" + "0" * 15, "9" * 4301, "-" + "9" * 6000, "1e308", "1e999", "-1e999", "Infinity", "-Infinity",
                   "NaN", "-0", "0.0000000000000000000000001", "9999999999.1", "1" * 400 + ".5", "18446744073709551616"]
STRINGS: list[str] = ["１.２", "1.22\n", "1.22 ", "+1.22", "٣", "\u202eeastus", "\x00", "[/b]chile", "[bold]x[/bold]",
                      "\ud800", "", " ", "e" * 5000, "web-0\n", "ｗｅｂ-0", "../../etc/passwd", "$", "{}", "null"]
runner = CliRunner()


class Hang(Exception):
    """Raised by SIGALRM when an input runs past its timeout."""


def _alarm(_sig: int, _frame: FrameType | None) -> None:
    raise Hang()


# -- mutations --------------------------------------------------------------------------------------------------

def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*here, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*here, i)))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        node = node[p]
    return node


def _set(root: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(root, path[:-1])[path[-1]] = value
    return root


class Raw:
    """A JSON value written as raw text (a number JSON cannot hold, Infinity, NaN)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _dump(node: Any, raws: dict[str, str]) -> str:
    def enc(n: Any) -> Any:
        if isinstance(n, Raw):
            key = f"@@raw{len(raws)}@@"
            raws[key] = n.text
            return key
        if isinstance(n, dict):
            return {k: enc(v) for k, v in n.items()}
        if isinstance(n, list):
            return [enc(v) for v in n]
        return n
    text = json.dumps(enc(node), ensure_ascii=False)
    for key, raw in raws.items():
        text = text.replace(json.dumps(key), raw)
    return text


def _swap_type(rng: random.Random, v: Any) -> Any:
    return rng.choice(["no", "2", "on", 2, 0, -1, 2.5, True, False, None, [], [v], {}, {"x": v}, "true"])


def _deep(rng: random.Random, v: Any) -> Raw:
    """``v`` nested hundreds to thousands deep, as text (a tree that deep would overflow the fuzzer's own stack)."""
    depth = rng.choice([70, 200, 900, 1500, 5000])
    inner = _dump(v, {})
    if rng.random() < 0.5:
        return Raw("[" * depth + inner + "]" * depth)
    return Raw('{"x": ' * depth + inner + "}" * depth)


def mutate_tree(rng: random.Random, data: Any) -> Any:
    paths = _paths(data)
    path = rng.choice(paths)
    target = _get(data, path)
    op = rng.randrange(8)
    if op == 0:
        return _set(data, path, _swap_type(rng, target))
    if op == 1:
        return _set(data, path, Raw(rng.choice(HUGE)))
    if op == 2:
        return _set(data, path, _deep(rng, target))
    if op == 3:
        # A lone surrogate written as a JSON escape reads as a Python str no UTF-8 encoder accepts.
        escaped = Raw(rng.choice(['"\\ud800"', '"web-0\\udfff"', '"\\u0000"', '"\\u202e1.22"']))
        return _set(data, path, escaped if rng.random() < 0.3 else rng.choice(STRINGS))
    if op == 4 and path:
        parent = _get(data, path[:-1])
        if isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, list):
            parent.pop(path[-1])
        return data
    if op == 5 and isinstance(target, dict):
        target[rng.choice(["zone", "pair", "nme", "extra", "healthy", "version", "scaleset"])] = rng.choice(STRINGS)
        return data
    if op == 6 and isinstance(target, list) and target:
        target.extend([copy.deepcopy(rng.choice(target))] * rng.choice([1, 2, 50]))
        return data
    return _set(data, path, _swap_type(rng, target))


def mutate_text(rng: random.Random, text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    op = rng.randrange(4)
    if op == 0 and raw:
        return raw[: rng.randrange(len(raw))]
    if op == 1 and raw:
        i = rng.randrange(len(raw))
        return raw[:i] + bytes([rng.choice([0xFF, 0xC3, 0x80, 0x00])]) + raw[i:]
    if op == 2:
        i = text.find('{"', 1)  # a key given twice
        j = text.find(",", i)
        return (text[:j] + "," + text[i + 1:j] + text[j:]).encode("utf-8", "surrogatepass") if 0 < i < j else raw
    return raw + rng.choice([b"}", b" garbage", b"\n{}", b""])


# -- the formats and the commands that read them ------------------------------------------------------------------

Runner = Callable[[Path], list[str]]


def make_inputs(work: Path) -> tuple[dict[str, Any], Path, dict[str, Runner]]:
    sched = work / "schedule.json"
    events = work / "events.jsonl"
    faults = work / "faults.json"
    faults.write_text(json.dumps(FAULTS))
    code = runner.invoke(COMMAND, ["plan", "--spec", str(SPEC), "--fleet", str(FLEET), "-o", str(sched), "-q"]).exit_code
    assert code == 0, "plan of the seed inputs failed"
    r = runner.invoke(COMMAND, ["simulate", "--spec", str(SPEC), "--fleet", str(FLEET), "--schedule", str(sched),
                            "--faults", str(faults), "--events", str(events)])
    assert r.exit_code in (0, 3), r.stderr
    seeds = {"fleet": json.loads(FLEET.read_text()), "schedule": json.loads(sched.read_text()), "faults": FAULTS,
             "fault-model": FAULT_MODEL, "events": [json.loads(line) for line in events.read_text().splitlines()]}
    base = ["--spec", str(SPEC)]
    out = str(work / "out")
    runners: dict[str, Runner] = {
        "fleet": lambda f: rng_pick(["verify", *base, "--fleet", str(f), "--force", str(sched)],
                                    ["simulate", *base, "--fleet", str(f), "--schedule", str(sched), "--force",
                                     "--events", out]),
        "schedule": lambda f: rng_pick(["verify", *base, "--fleet", str(FLEET), str(f)],
                                       ["simulate", *base, "--fleet", str(FLEET), "--schedule", str(f),
                                        "--final-state", out],
                                       ["explain", *base, "--fleet", str(FLEET), "--schedule", str(f), "--vm", "web-1"]),
        "faults": lambda f: ["simulate", *base, "--fleet", str(FLEET), "--schedule", str(sched), "--faults", str(f)],
        "fault-model": lambda f: ["simulate", *base, "--fleet", str(FLEET), "--schedule", str(sched), "--model", str(f),
                                  "--seed", "4"],
        "events": lambda f: ["report", *base, "--fleet", str(FLEET), "--schedule", str(sched), "--events", str(f),
                             "-o", out],
    }
    return seeds, sched, runners


_PICK = random.Random(0)


def rng_pick(*options: list[str]) -> list[str]:
    return _PICK.choice(options)


def one_input(rng: random.Random, fmt: str, seed: Any) -> bytes:
    data = copy.deepcopy(seed)
    if fmt == "events":
        line = rng.randrange(len(data))
        data[line] = mutate_tree(rng, data[line])
        raws: dict[str, str] = {}
        text = "\n".join(_dump(e, raws) for e in data) + "\n"
    else:
        for _ in range(rng.choice([1, 1, 2, 3])):
            data = mutate_tree(rng, data)
        text = _dump(data, {})
    return mutate_text(rng, text) if rng.random() < 0.15 else text.encode("utf-8", "surrogatepass")


def classify(args: list[str], timeout: float) -> tuple[str, str]:
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        r = runner.invoke(COMMAND, args)
    except Hang:
        return "hang", "timeout"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if isinstance(r.exception, Hang):
        return "hang", "timeout"
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        return "internal", f"{type(r.exception).__name__}: {r.exception}"[:300]
    if "internal error" in r.stderr:
        return "internal", r.stderr[:300]
    if r.exit_code == 2:
        return "refused", ""
    if r.exit_code in (0, 1, 3):
        return "accepted", ""
    return "internal", f"exit {r.exit_code}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per input")
    ap.add_argument("--keep", type=Path, default=None, help="write inputs that end internal or hang here")
    opts = ap.parse_args()
    rng = random.Random(opts.seed)
    _PICK.seed(opts.seed)
    with tempfile.TemporaryDirectory(prefix="wavegate-fuzz-") as tmp:
        work = Path(tmp)
        seeds, _, runners = make_inputs(work)
        formats = sorted(seeds)
        counts: dict[str, Counter[str]] = {f: Counter() for f in formats}
        examples: list[tuple[str, str, str]] = []
        slowest = 0.0
        start = time.monotonic()
        for i in range(opts.count):
            fmt = formats[i % len(formats)]
            data = one_input(rng, fmt, seeds[fmt])
            f = work / f"input.{'jsonl' if fmt == 'events' else 'json'}"
            f.write_bytes(data)
            t0 = time.monotonic()
            outcome, detail = classify(runners[fmt](f), opts.timeout)
            slowest = max(slowest, time.monotonic() - t0)
            counts[fmt][outcome] += 1
            if outcome in ("internal", "hang"):
                examples.append((fmt, outcome, detail))
                if opts.keep is not None:
                    opts.keep.mkdir(parents=True, exist_ok=True)
                    (opts.keep / f"{i:06d}-{fmt}.json").write_bytes(data)
        elapsed = time.monotonic() - start
    print(f"fuzz_formats: {opts.count:,} inputs, seed {opts.seed}, timeout {opts.timeout:g} s per input, "
          f"{elapsed:.0f} s ({opts.count / elapsed:.0f} inputs/s), slowest input {slowest:.2f} s")
    cols = ("refused", "accepted", "internal", "hang")
    print(f"{'format':<12} {'inputs':>7} " + " ".join(f"{c:>9}" for c in cols))
    for fmt in formats:
        c = counts[fmt]
        print(f"{fmt:<12} {sum(c.values()):>7,} " + " ".join(f"{c[k]:>9,}" for k in cols))
    total = sum((counts[f] for f in formats), Counter())
    print(f"{'total':<12} {sum(total.values()):>7,} " + " ".join(f"{total[k]:>9,}" for k in cols))
    for fmt, outcome, detail in examples[:20]:
        print(f"  {outcome} ({fmt}): {detail}")
    return 1 if total["internal"] or total["hang"] else 0


if __name__ == "__main__":
    sys.exit(main())
