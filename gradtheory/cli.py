"""The ``gradtheory`` command: derive, train, predict, verify, reproduce, list, report.

Every sub-command has ``--help``; bad arguments exit with status 2 and a one-line reason.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

__all__ = ["cell_from_name", "main"]

_CELLS = ("elman", "irnn", "lstm", "gru", "residual", "highway")


def cell_from_name(name: str, activation: str | None = None):
    """``"lstm"``, ``"gru"``, ``"irnn"``, ``"elman-tanh"`` / ``"elman"`` + activation, ...

    Examples
    --------
    >>> cell_from_name("elman-relu").name
    'elman-relu'
    """
    from . import cells

    base, _, suffix = name.partition("-")
    activation = suffix or activation
    if base not in _CELLS:
        raise ValueError(
            f"CELL must be one of {', '.join(_CELLS)} (optionally '-activation', "
            f"e.g. elman-tanh), got {name!r}"
        )
    if base in ("elman", "residual", "highway"):
        default = {"elman": "tanh", "residual": "relu", "highway": "tanh"}[base]
        return getattr(cells, base)(activation or default)
    if activation:
        raise ValueError(f"cell {base!r} takes no activation, got {activation!r}")
    return getattr(cells, base)()


def _network(args, n_in: int = 1, n_out: int | None = None):
    from .numeric.network import Network

    cell = cell_from_name(args.cell, args.activation)
    depth = getattr(args, "depth", None)
    return Network(
        cell,
        n_in=n_in,
        n_hidden=args.hidden,
        n_out=n_out,
        init=args.init,
        gain=args.gain,
        sigma_b2=args.sigma_b2,
        seed=args.seed,
        tied=depth is None,
        steps=depth,
    )


def _cmd_derive(args) -> int:
    from .symbolic.derive import derive

    derivation = derive(cell_from_name(args.cell, args.activation))
    print(derivation.latex() if args.latex else derivation)
    return 0


def _cmd_train(args) -> int:
    from .numeric import tasks
    from .numeric.train import train

    if args.task == "digits":
        if args.T is not None:
            raise ValueError("--T does not apply to the digits task (always 64 pixels)")
        task = tasks.digits()
    else:
        task = tasks.make_task(args.task, T=50 if args.T is None else args.T)
    net = _network(args, n_in=task.n_in, n_out=task.n_out)
    history = train(
        net,
        task,
        steps=args.steps,
        batch_size=args.batch,
        optimizer=args.optimizer,
        lr=args.lr,
        clip=args.clip,
        tbptt=args.tbptt,
        seed=args.seed,
        score_every=max(args.steps // 10, 1),
        progress=not args.quiet,
    )
    if history.diverged_at is not None:
        print(history.message)
    last = max(history.scores) if history.scores else None
    print(
        f"final loss {history.loss[-1]:.5g} (baseline {task.baseline:.5g}); "
        f"score {history.scores.get(last, float('nan')):.4f}"
    )
    if args.save:
        history.save(args.save)
        print(f"history written to {args.save}.npz and {args.save}.json")
    return 0


def _cmd_predict(args) -> int:
    from .analysis.predict import predict

    prediction = predict(_network(args), method=args.method, steps=args.T, seed=args.seed)
    print(prediction)
    for line in prediction.assumptions:
        print(f"  assumes: {line}")
    return 0


def _cmd_verify(args) -> int:
    from .analysis.verify import verify

    check = verify(_network(args), method=args.method, steps=args.T, seed=args.seed)
    print(check.table())
    return 0 if check.agrees else 1


def _cmd_reproduce(args) -> int:
    from tqdm.auto import tqdm

    from .claims import default_outdir, load_all, run_claim

    claims = load_all()
    if args.all == bool(args.names):
        raise ValueError("give claim NAMEs or --all (see 'gradtheory list')")
    names = list(claims) if args.all else args.names
    unknown = [n for n in names if n not in claims]
    if unknown:
        raise ValueError(f"unknown claim(s) {', '.join(unknown)}; see 'gradtheory list'")
    # a quick run goes to the git-ignored figures/quick, never over the committed results
    outdir = args.outdir or default_outdir(args.quick)
    for name in tqdm(names, desc="reproduce", disable=args.quiet):
        meta = run_claim(name, outdir, quick=args.quick, seed=args.seed)
        tqdm.write(f"{name} ({meta['seconds']} s): {meta['summary']}")
    if not args.no_report:
        from .report import write_report

        print(f"report: {write_report(outdir)}")
    return 0


def _cmd_list(args) -> int:
    from .claims import load_all

    for name, entry in load_all().items():
        print(f"{name:26s} {entry.title}  [{entry.source}]")
    return 0


def _cmd_report(args) -> int:
    from .report import write_report

    print(write_report(args.outdir, args.output))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradtheory",
        description=("Derive, execute, predict and verify vanishing and exploding gradients."),
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def network_options(p, hidden=32):
        p.add_argument("cell", help="elman[-act], irnn, lstm, gru, residual[-act], highway[-act]")
        p.add_argument("--activation", help="activation for elman/residual/highway")
        p.add_argument("--hidden", type=int, default=hidden, help="hidden size")
        p.add_argument(
            "--init", default=None, help="gaussian, glorot, he, orthogonal, identity, torch"
        )
        p.add_argument("--gain", type=float, default=1.0)
        p.add_argument("--sigma-b2", dest="sigma_b2", type=float, default=0.0)
        p.add_argument("--depth", type=int, default=None, help="untied depth-L network")
        p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("derive", help="print the step Jacobian and BPTT gradients of a cell")
    p.add_argument("cell")
    p.add_argument("--activation")
    p.add_argument("--latex", action="store_true", help="print LaTeX")
    p.set_defaults(run=_cmd_derive)

    p = sub.add_parser("train", help="train a network on a task")
    network_options(p)
    p.add_argument(
        "--task",
        default="adding",
        help="adding, copy_memory, temporal_order, flipflop, latch, digits",
    )
    p.add_argument("--T", type=int, default=None, help="sequence length (default 50)")
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip", type=float, default=None)
    p.add_argument("--tbptt", type=int, default=None)
    p.add_argument("--save", default=None, help="write history to SAVE.npz and SAVE.json")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=_cmd_train)

    for name, func, text in (
        ("predict", _cmd_predict, "predict vanishing or exploding gradients"),
        ("verify", _cmd_verify, "check a prediction against BPTT"),
    ):
        p = sub.add_parser(name, help=text)
        network_options(p)
        p.add_argument(
            "--method", default="auto", help="auto, linear, pascanu, mean_field, jacobian"
        )
        p.add_argument("--T", type=int, default=200, help="trajectory length")
        p.set_defaults(run=func)

    p = sub.add_parser("reproduce", help="regenerate claims' figures and numbers")
    p.add_argument("names", nargs="*", help="claim names (see 'gradtheory list')")
    p.add_argument("--all", action="store_true")
    p.add_argument("--quick", action="store_true", help="reduced sizes, into figures/quick/")
    p.add_argument("--outdir", default=None, help="default figures/ (figures/quick/ with --quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-report", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_reproduce)

    p = sub.add_parser("list", help="list the reproducible claims")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser("report", help="write figures/REPORT.md from the reproduced claims")
    p.add_argument("--outdir", default="figures")
    p.add_argument("--output", default=None)
    p.set_defaults(run=_cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gradtheory`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        with np.errstate(over="ignore"):
            return args.run(args)
    except (ValueError, TypeError, FileNotFoundError, FloatingPointError) as err:
        print(f"gradtheory {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
