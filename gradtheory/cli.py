"""The ``gradtheory`` command: derive, train, predict, verify, reproduce, list, report.

Every sub-command has ``--help``; bad arguments exit with status 2 and a one-line reason on
stderr, never a traceback (``--debug``, anywhere on the line, shows it). Numeric options are
checked when parsed, with the specs of :mod:`gradtheory._validate`.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np

from ._validate import Int, Real, Spec, convert

__all__ = ["cell_from_name", "main"]


def cell_from_name(name: str, activation: str | None = None):
    """``"lstm"``, ``"gru"``, ``"irnn"``, ``"elman-tanh"`` / ``"elman"`` + activation, ...

    The names are those of the cell registry (:func:`gradtheory.symbolic.registry.cell_from_name`).

    Examples
    --------
    >>> cell_from_name("elman-relu").name
    'elman-relu'
    """
    from .symbolic.registry import cell_from_name as from_registry

    return from_registry(name, activation)


def _network(args, n_in: int = 1, n_out: int | None = None):
    from .sweeps._tasks import network_from_options

    return network_from_options(
        args.cell,
        args.activation,
        args.hidden,
        args.init,
        args.gain,
        args.sigma_b2,
        getattr(args, "depth", None),
        args.seed,
        n_in=n_in,
        n_out=n_out,
    )


def _cmd_derive(args) -> int:
    from .symbolic.derive import derive

    derivation = derive(cell_from_name(args.cell, args.activation))
    print(derivation.latex() if args.latex else derivation)
    return 0


def _cmd_train(args) -> int:
    from ._cli_output import history_record, plot_format, print_result, write_plot
    from .numeric.train import train
    from .sweeps._tasks import task_from_options

    plot_format(args.plot)
    task = task_from_options(args.task, args.T, option="--T")
    if args.save:
        _check_writable(args.save)  # before training, so that no trained network is lost
    net = _network(args, n_in=task.n_in, n_out=task.n_out)
    # the options that are train()'s own keywords, under the same names
    options = {k: getattr(args, k) for k in ("steps", "batch", "optimizer", "lr", "clip", "tbptt")}
    score_every, progress = max(args.steps // 10, 1), not (args.quiet or args.json)
    history = train(
        net, task, **options, seed=args.seed, score_every=score_every, progress=progress
    )
    record = history_record(history, task.baseline)
    rows = [
        ("steps", record["steps"]),
        ("final loss", f"{record['final_loss']:.5g}"),
        ("baseline loss", f"{task.baseline:.5g}"),
        ("final score", f"{record['final_score']:.4f}"),
        ("clipped steps", record["clipped_steps"]),
    ]
    if history.diverged_at is not None:
        rows.append(("diverged", history.message))
    if args.save:
        _save_history(history, args.save)
        rows.append(("history", f"{args.save}.npz, {args.save}.json"))
    if args.plot:
        rows.append(("figure", write_plot(history.plot(), args.plot)))
    print_result(record, rows, args.json)
    return 0


def _check_writable(stem: str) -> None:
    """Fail now (exit 2) if ``stem.npz``/``stem.json`` cannot be written, not after training.

    The folder is created (as the save would) and a probe file written and removed in it.
    """
    import tempfile

    folder = Path(stem).expanduser().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gradtheory-probe-"):
            pass
    except OSError as err:
        raise ValueError(
            f"--save {stem!r}: cannot write into {str(folder)!r} ({err.strerror or err})"
        ) from None
    for suffix in (".npz", ".json"):
        target = Path(stem + suffix).expanduser()
        if target.is_dir() or (target.exists() and not os.access(target, os.W_OK)):
            raise ValueError(f"--save {stem!r}: {str(target)!r} is not a writable file")


def _save_history(history, stem: str) -> None:
    """Save; if that fails after all, keep the result in a fallback file and say where."""
    try:
        history.save(stem)
    except OSError as err:
        import tempfile

        fallback = Path(tempfile.mkdtemp(prefix="gradtheory-")) / Path(stem).name
        history.save(fallback)
        raise OSError(
            f"could not write {stem}.npz/.json ({err.strerror or err}); the history was saved "
            f"to {fallback}.npz and {fallback}.json instead"
        ) from err


def _cmd_predict(args) -> int:
    from ._cli_output import (
        plot_format,
        prediction_record,
        prediction_rows,
        print_result,
        write_plot,
    )
    from .analysis.predict import predict

    plot_format(args.plot)
    prediction = predict(_network(args), method=args.method, steps=args.T, seed=args.seed)
    rows = prediction_rows(prediction)
    if args.plot:
        rows.append(("figure", write_plot(prediction.plot(), args.plot)))
    print_result(prediction_record(prediction), rows, args.json)
    return 0


def _cmd_verify(args) -> int:
    from ._cli_output import aligned, plot_format, print_result, verification_record, write_plot
    from .analysis.verify import verify

    plot_format(args.plot)
    check = verify(_network(args), method=args.method, steps=args.T, seed=args.seed)
    if args.json:
        print_result(verification_record(check), [], True)
    else:
        print(check.table())
    if args.plot:
        path = write_plot(check.plot(), args.plot)
        if not args.json:
            print(aligned([("figure", path)]))
    return 0 if check.agrees else 1


def _cmd_reproduce(args) -> int:
    from ._progress import progress_bar
    from .claims import _registry, default_outdir, load_all, run_claim

    claims = load_all()
    if args.all == bool(args.names):
        raise ValueError("give claim NAMEs or --all (see 'gradtheory list')")
    names = list(claims) if args.all else args.names
    unknown = [n for n in names if n not in claims]
    if unknown:
        raise ValueError(f"unknown claim(s) {', '.join(unknown)}; see 'gradtheory list'")
    # a quick run goes to the git-ignored figures/quick, never over the committed results
    outdir = args.outdir or default_outdir(args.quick)
    with progress_bar(len(names), desc="reproduce", enable=not args.quiet) as bar:
        for name in names:
            meta = run_claim(
                name,
                outdir,
                quick=args.quick,
                seed=args.seed,
                workers=args.workers,
                scheduler=args.scheduler,
                store_root=_registry.STORE_ROOT,  # read at call time (tests move it)
            )
            bar.write(f"{name} ({meta['seconds']} s): {meta['summary']}")
            bar.update()
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

    if not Path(args.outdir).is_dir():
        raise ValueError(f"--outdir {args.outdir!r} is not a folder (run 'gradtheory reproduce')")
    print(write_report(args.outdir, args.output))
    return 0


class _UsageError(Exception):
    """A bad command line, reported as one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as an exception (one line, no usage dump)."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message}")


def _option(spec: Spec, parse=int):
    """An argparse ``type`` checking the option with ``spec`` (same words as the library)."""

    def option(text: str):
        try:
            return convert(text, spec, parse)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    option.__name__ = getattr(parse, "__name__", "value")
    option.parse = parse  # the plain kind (int, float), read by ``gradtheory sweep``'s grids
    return option


_COUNT, _SEED = _option(Int(min=1)), _option(Int(min=0))


def _parser() -> argparse.ArgumentParser:
    from .symbolic.registry import ACTIVATIONS, CELLS, cell_names

    cell_help = cell_names()
    activation_help = f"activation ({', '.join(ACTIVATIONS)}) for " + "/".join(
        s.name for s in CELLS.values() if s.takes_activation
    )
    from .analysis.predict import METHODS
    from .numeric.init import INITS
    from .numeric.optim import OPTIMIZERS
    from .numeric.tasks import TASKS

    parser = _Parser(
        prog="gradtheory",
        description=("Derive, execute, predict and verify vanishing and exploding gradients."),
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", required=True)

    def network_options(p, hidden=32):
        p.add_argument("cell", help=cell_help)
        p.add_argument("--activation", help=activation_help)
        p.add_argument("--hidden", type=_COUNT, default=hidden, help="hidden size")
        p.add_argument("--init", default=None, choices=sorted(INITS), help="initialisation")
        p.add_argument("--gain", type=_option(Real(min=0, max=1e150), float), default=1.0)
        p.add_argument(
            "--sigma-b2", dest="sigma_b2", type=_option(Real(min=0, max=1e300), float), default=0.0
        )
        p.add_argument("--depth", type=_COUNT, default=None, help="untied depth-L network")
        p.add_argument("--seed", type=_SEED, default=0)

    p = sub.add_parser("derive", help="print the step Jacobian and BPTT gradients of a cell")
    p.add_argument("cell", help=cell_help)
    p.add_argument("--activation", help=activation_help)
    p.add_argument("--latex", action="store_true", help="print LaTeX")
    p.set_defaults(run=_cmd_derive)

    p = sub.add_parser("train", help="train a network on a task")
    network_options(p)
    p.add_argument("--task", default="adding", choices=sorted(TASKS), help="task")
    p.add_argument("--T", type=_COUNT, default=None, help="sequence length (default 50)")
    p.add_argument("--steps", type=_COUNT, default=500)
    p.add_argument("--batch", type=_COUNT, default=32)
    p.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS))
    p.add_argument("--lr", type=_option(Real(gt=0), float), default=1e-3)
    p.add_argument("--clip", type=_option(Real(gt=0), float), default=None)
    p.add_argument("--tbptt", type=_COUNT, default=None)
    p.add_argument("--save", default=None, help="write history to SAVE.npz and SAVE.json")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=_cmd_train)

    for name, func, text in (
        ("predict", _cmd_predict, "predict vanishing or exploding gradients"),
        ("verify", _cmd_verify, "check a prediction against BPTT"),
    ):
        p = sub.add_parser(name, help=text)
        network_options(p)
        p.add_argument("--method", default="auto", choices=METHODS, help="theory to use")
        p.add_argument("--T", type=_COUNT, default=200, help="trajectory length")
        p.set_defaults(run=func)

    for name in ("train", "predict", "verify"):  # output for scripts and figures
        p = sub.choices[name]
        p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
        p.add_argument("--plot", metavar="FILE", help="write the result's figure (.png/.svg/.pdf)")

    p = sub.add_parser("reproduce", help="regenerate claims' figures and numbers")
    p.add_argument("names", nargs="*", help="claim names (see 'gradtheory list')")
    p.add_argument("--all", action="store_true")
    p.add_argument("--quick", action="store_true", help="reduced sizes, into figures/quick/")
    p.add_argument("--outdir", default=None, help="default figures/ (figures/quick/ with --quick)")
    p.add_argument("--seed", type=_SEED, default=0)
    p.add_argument("--no-report", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--workers", type=_COUNT, default=None, help="run claims' sweeps in N processes")
    p.add_argument("--scheduler", default=None, help="run claims' sweeps on this Dask scheduler")
    p.set_defaults(run=_cmd_reproduce)

    p = sub.add_parser("list", help="list the reproducible claims")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser("report", help="write figures/REPORT.md from the reproduced claims")
    p.add_argument("--outdir", default="figures")
    p.add_argument("--output", default=None)
    p.set_defaults(run=_cmd_report)

    from ._cli_sweep import add_sweep_parser

    add_sweep_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gradtheory`` command; returns the exit status.

    0 success, 1 a check that did not hold (``verify``) or an unexpected failure, 2 a bad
    command line or argument. Errors are one line on stderr; ``--debug`` adds the traceback.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    command = "gradtheory"
    try:
        args = _parser().parse_args(argv)
        command = f"gradtheory {args.command}"
        with np.errstate(over="ignore"), warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(command)
            return args.run(args)
    except SystemExit as done:  # --help and --version
        return done.code if isinstance(done.code, int) else 0
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except _UsageError as err:
        return _report(str(err), 2, debug)
    except (ValueError, TypeError, OSError, FloatingPointError, OverflowError) as err:
        return _report(f"{command}: error: {_one_line(err)}", 2, debug)
    except Exception as err:  # a bug: still one line, the traceback on request
        text = f"{command}: internal error: {type(err).__name__}: {_one_line(err)}"
        return _report(text + " (run with --debug for the traceback)", 1, debug)


def _one_line_warning(command: str):
    """Show warnings as one line each (``gradtheory train: warning: ...``), without code."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{command}: warning: {_one_line(message)}", file=file or sys.stderr)

    return show


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _report(text: str, status: int, debug: bool) -> int:
    if debug:
        traceback.print_exc(file=sys.stderr)
    print(text, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
