"""Command-line entry shared by the standalone scripts in ``analyses/``."""

from __future__ import annotations

import argparse
import sys


def main(name: str, argv: list[str] | None = None) -> int:
    """Run claim ``name``: ``python analyses/<name>.py [--quick] [--seed N] [--outdir DIR]``."""
    from ._registry import run_claim

    parser = argparse.ArgumentParser(
        prog=f"analyses/{name}.py", description=f"Reproduce the claim '{name}' into figures/."
    )
    parser.add_argument("--quick", action="store_true", help="reduced size, same shape of result")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--outdir", default="figures")
    args = parser.parse_args(argv)
    meta = run_claim(name, args.outdir, quick=args.quick, seed=args.seed)
    print(f"{name}: {meta['summary']} ({meta['seconds']} s) -> {args.outdir}/{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
