"""``python -m engine.cli.generate --vms N --seed S -o fleet.json``: a seeded fleet over the real Azure regions
(how ``engine/data/sample-fleet.json`` was made)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.cli.outputs import write_output
from engine.model.generator import generate


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Generate a seeded fleet over real Azure regions.")
    ap.add_argument("--vms", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args(argv)
    write_output(args.output, json.dumps(generate(args.vms, args.seed), indent=1) + "\n")


if __name__ == "__main__":
    main()
