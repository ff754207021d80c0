"""Fuzz the policy language: mutated corpus files and random token soups through check and fmt.

Every input must give a checked policy or diagnostics, never an exception; every input that parses must format to
text that parses to the same AST, and formatting must be idempotent.  Prints a table and exits 1 on any crash.

    python bench/fuzz_dsl.py --count 10000 --seed 1
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dsl.formatter import format_text  # noqa: E402
from dsl.loader import check_source  # noqa: E402
from dsl.parser import decode, lark_parser, parse_text  # noqa: E402

WORDS = ["policy", "theorems", "about", "extends", "param", "rule", "prefer", "gate", "theorem", "versions", "at", "most", "of", "a", "an", "the", "each", "per", "where", "never", "together", "in", "regions", "that", "are", "paired", "whole", "with", "least", "canary", "alone", "first", "phase", "wave", "before", "by", "order", "tag", "descending", "single", "spread", "over", "weight", "unhealthy", "batch", "after", "wait", "up", "to", "for", "health", "else", "roll", "back", "keep", "it", "stop", "when", "among", "upgraded", "end", "a", "phase", "starts", "only", "previous", "succeeded", "retry", "failed", "times", "pause", "between", "batches", "executor", "while", "no", "ever", "moves", "new", "major", "version", "whose", "upgrade", "ends", "on", "its", "only", "enabled", "include", "disabled", "newest", "installed", "allow", "opt", "out", "pin", "publisher", "type", "name", "and", "or", "not", "has", "floor", "ceil", "zone", "region", "scale_set", "availability_set", "update_domain", "subscription", "fleet", "VMs", "vm.region", "vm.single", "vm.tags.env", "scale_set.size", "x", "extension", "geography", "geographies", "region.geography", "vm"]
ATOMS = ("1", "0", "-3", "20%", "150%", "5m", "PT5M", "P3D", "3d", '"eastus"', '"', "true", "[", "]", "(", ")",
         "{", "}", ",", ":", "=", "==", "<=", ">", "#c\n", "\n", "\x00", "\ufeff", "é", "@", "５", '"Europe"',
         '"１.２"', "on each vm")


@dataclass
class Stats:
    inputs: int = 0
    parsed: int = 0
    policies: int = 0
    crashes: int = 0
    roundtrip_failures: int = 0
    examples: list[str] = field(default_factory=list)


def corpus_texts() -> list[str]:
    files = sorted((ROOT / "specs").glob("*.wg")) + sorted((ROOT / "tests" / "corpus").rglob("*.wg"))
    out = []
    for f in files:
        text, _ = decode(f.read_bytes(), f.name)
        if text is not None:
            out.append(text)
    return out


def mutate(rng: random.Random, text: str) -> str:
    ops: list[Callable[[str], str]] = [
        lambda t: t[: (i := rng.randrange(len(t) + 1))] + t[i + rng.randrange(1, 20):],  # delete a run
        lambda t: t[: (i := rng.randrange(len(t) + 1))] + rng.choice(ATOMS + tuple(WORDS)) + " " + t[i:],  # insert
        lambda t: t.replace(rng.choice(WORDS), rng.choice(WORDS), 1),  # swap a word
        lambda t: "\n".join(rng.sample(t.split("\n"), len(t.split("\n")))),  # shuffle lines
        lambda t: t + "\n" + rng.choice(t.split("\n")),  # duplicate a line
        lambda t: t[: rng.randrange(len(t) + 1)],  # truncate
        lambda t: "(" * rng.randrange(1, 300) + t,  # nest
    ]
    for _ in range(rng.randrange(1, 4)):
        if not text:
            text = rng.choice(WORDS)
        text = rng.choice(ops)(text)
    return text


def soup(rng: random.Random) -> str:
    parts = ["policy p\n"] if rng.random() < 0.7 else []
    for _ in range(rng.randrange(1, 40)):
        parts.append(rng.choice(WORDS) if rng.random() < 0.75 else rng.choice(ATOMS))
    return " ".join(parts)


def check_one(text: str, stats: Stats, tag: str) -> None:
    stats.inputs += 1
    try:
        res = check_source(text, "fuzz.wg", "/nonexistent-root")
        if res.policy is not None:
            stats.policies += 1
        tree, _ = parse_text(text, "fuzz.wg")
        if tree is not None:
            stats.parsed += 1
            once, _ = format_text(text, "fuzz.wg")
            twice, _ = format_text(once or "", "fuzz.wg")
            again, _ = parse_text(once or "", "fuzz.wg")
            if once is None or twice != once or again != tree:
                stats.roundtrip_failures += 1
                if len(stats.examples) < 5:
                    stats.examples.append(f"[{tag} round trip] {text[:300]!r}")
    except Exception:  # a crash is exactly what this script counts
        stats.crashes += 1
        if len(stats.examples) < 5:
            stats.examples.append(f"[{tag} crash] {text[:300]!r}\n{traceback.format_exc(limit=4)}")


def run(count: int, seed: int) -> Stats:
    rng = random.Random(seed)
    lark_parser()  # build the parser once, outside the timing of inputs
    texts = corpus_texts()
    stats = Stats()
    for i in range(count):
        if i % 3 == 2:
            check_one(soup(rng), stats, "soup")
        else:
            check_one(mutate(rng, rng.choice(texts)), stats, "mutation")
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    stats = run(args.count, args.seed)
    dt = time.perf_counter() - t0
    print(f"{'inputs':<22}{stats.inputs:>10}")
    print(f"{'parsed':<22}{stats.parsed:>10}")
    print(f"{'checked policies':<22}{stats.policies:>10}")
    print(f"{'crashes':<22}{stats.crashes:>10}")
    print(f"{'round-trip failures':<22}{stats.roundtrip_failures:>10}")
    print(f"{'seconds':<22}{dt:>10.1f}")
    print(f"{'inputs per second':<22}{stats.inputs / dt if dt else 0:>10.0f}")
    for ex in stats.examples:
        print(ex)
    return 1 if stats.crashes or stats.roundtrip_failures else 0


if __name__ == "__main__":
    sys.exit(main())
