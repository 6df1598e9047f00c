"""``gradtheory sweep train|verify ...``: the options of ``train`` / ``verify`` as grids.

Every option (and the CELL) takes a comma list (``--T 50,100,200``, ``--lr 1e-3,3e-3``); an
integer option also takes half-open ranges ``start:stop`` (``--seed 0:5`` is 0, 1, 2, 3, 4),
and an option whose default is None the word ``none``. The grid is the Cartesian product, run
with :func:`gradtheory.sweep`: ``--workers N`` (local processes) or ``--scheduler ADDRESS``
(Dask), ``--store DIR`` (resume), ``--out FILE.csv`` (one row per point). Exit status: 0, 1 if
any point failed, 2 for bad options (one line) or an unreachable scheduler.
"""

from __future__ import annotations

import argparse
import inspect
import sys

import numpy as np

__all__ = ["add_sweep_parser", "parse_values"]

#: Options of train/verify that make no sense per point: the store replaces --save.
_SKIP = {"help", "save", "quiet"}


def _point_functions():
    from .sweeps._tasks import train_point, verify_point

    return {"train": train_point, "verify": verify_point}


def parse_values(text: str, option: str, kind=None, choices=None, default=None) -> list:
    """Values of one grid option: a comma list of items, ``start:stop`` for integers.

    Examples
    --------
    >>> parse_values("50,100", "--T", int)
    [50, 100]
    >>> parse_values("0:3,7", "--seed", int)
    [0, 1, 2, 7]
    """

    def bad(expected: str, item: str | None = None):
        where = f"{item!r} in {text!r}" if item is not None and item != text else repr(text)
        return ValueError(f"argument '{option}' must be {expected}; got {where}")

    convert = kind
    kind = getattr(kind, "parse", kind)  # a checked option type (cli._option) and its plain kind
    kind_name = {int: "integers", float: "numbers"}.get(kind, "values")
    expected = f"{kind_name} separated by commas" + (
        " (or start:stop ranges)" if kind is int else ""
    )
    values: list = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise bad(f"{expected}, with no empty item")
        if item.lower() == "none" and default is None and kind is not None:
            values.append(None)
        elif kind is int and ":" in item:
            start, _, stop = item.partition(":")
            try:
                start, stop = int(start), int(stop)
            except ValueError:
                raise bad("integer ranges start:stop", item) from None
            if start >= stop:
                raise bad("ranges start:stop with start < stop (stop excluded)", item)
            for value in range(start, stop):
                values.append(_converted(convert, str(value), bad, expected))
        else:
            value = _converted(convert, item, bad, expected)
            if choices is not None and value not in choices:
                raise bad(f"among {', '.join(map(str, choices))}", item)
            values.append(value)
    return values


def _converted(convert, item: str, bad, expected: str):
    """``convert(item)``, its error reworded as one about this grid option."""
    if convert is None:
        return item
    try:
        return convert(item)
    except (ValueError, argparse.ArgumentTypeError) as err:
        checked = str(err) if isinstance(err, argparse.ArgumentTypeError) else ""
        # the option's own check says what it accepts: "must be a finite number > 0; got ..."
        checked = checked.partition("must be ")[2].partition("; got")[0]
        raise bad(checked or expected, item) from None


def add_sweep_parser(sub) -> None:
    """Add ``sweep train`` and ``sweep verify`` (built from ``sub``'s train/verify parsers)."""
    sweep = sub.add_parser(
        "sweep",
        help="train or verify over a grid of options (comma lists, start:stop ranges)",
        description=__doc__.split("\n\n")[1],
    )
    kinds = sweep.add_subparsers(dest="sweep_command", required=True)
    for name, fn in _point_functions().items():
        original = sub.choices[name]
        accepted = set(inspect.signature(fn).parameters)
        p = kinds.add_parser(name, help=f"'{name}' over a grid")
        grid_options = []
        for action in original._actions:
            if action.dest in _SKIP or action.dest not in accepted:
                continue
            if action.nargs == 0:  # a flag: passed through, not a grid axis
                p.add_argument(*action.option_strings, dest=action.dest, action="store_true")
                grid_options.append((action, None))
                continue
            label = action.option_strings[0] if action.option_strings else action.dest.upper()
            text = "comma list" + (
                ", start:stop" if getattr(action.type, "parse", action.type) is int else ""
            )
            if action.option_strings:
                p.add_argument(*action.option_strings, dest=action.dest, default=None, help=text)
            else:
                p.add_argument(action.dest, help=f"{action.help or ''} ({text})")
            grid_options.append((action, label))
        p.add_argument("--workers", type=int, default=None, help="local worker processes")
        p.add_argument("--scheduler", default=None, help="Dask scheduler, tcp://host:port")
        p.add_argument("--store", default=None, help="directory keeping each point (resume)")
        p.add_argument("--out", default=None, help="CSV file, one row per point")
        p.add_argument("--quiet", dest="sweep_quiet", action="store_true", help="no progress bar")
        p.set_defaults(run=_cmd_sweep, point_fn=fn, grid_options=grid_options)


def _grid(args) -> dict:
    grid = {}
    for action, label in args.grid_options:
        given = getattr(args, action.dest)
        if label is None or given is None:
            grid[action.dest] = [bool(given) if label is None else action.default]
        else:
            grid[action.dest] = parse_values(
                given, label, action.type, action.choices, action.default
            )
    return grid


#: Outputs shown in the summary table (all of them are in the CSV).
_SHOWN = {
    "train": ["final_loss", "score", "accuracy"],
    "verify": ["predicted_rate", "measured_rate", "agrees"],
}


def _summary(result, command: str):
    """Per setting (varying axes but seed): points, diverged runs, mean +- 95% interval."""
    present = set(result.records[0]) if result.records else set()
    shown = [o for o in _SHOWN[command] if any(o in r for r in result.records)]
    table = result.summary(outputs=shown)
    by = [c for c in table.columns if c != "n" and c not in shown and not c.endswith("_ci95")]
    if "diverged_at" in present:
        counts = []
        for _, row in table.iterrows():
            chosen = result.select(**{a: row[a] for a in by}) if by else result
            counts.append(sum(r.get("diverged_at") is not None for r in chosen.records))
        table.insert(len(by) + 1, "diverged", counts)
    for name in shown:
        pairs = zip(table[name], table[f"{name}_ci95"], strict=True)
        table[name] = [f"{m:.4g}" + ("" if np.isnan(h) else f" ± {h:.2g}") for m, h in pairs]
        table = table.drop(columns=f"{name}_ci95")
    return table


def _cmd_sweep(args) -> int:
    import gradtheory as gt

    from .io import write_atomic

    if args.workers is not None and args.workers < 1:
        raise ValueError(f"argument '--workers' must be a positive integer; got {args.workers}")
    if args.workers is not None and args.scheduler is not None:
        raise ValueError("arguments '--workers' and '--scheduler' exclude each other")
    grid = _grid(args)
    try:
        result = gt.sweep(
            args.point_fn,
            grid,
            store=args.store,
            executor=args.scheduler,
            workers=args.workers,
            progress=False if args.sweep_quiet else None,
        )
    except ConnectionError as err:
        reason = str(err).split("cannot reach ", 1)[-1]
        raise ValueError(f"argument '--scheduler': cannot reach {reason}") from None
    if result.records:
        summary = _summary(result, args.sweep_command)
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"{len(result.records)} of {len(result.points)} points finished", end="")
    print(f", {len(result.failed)} failed" if result.failed else "")
    for failure in result.failed[:5]:
        point = {k: v for k, v in failure.items() if k != "error" and len(set(grid[k])) > 1}
        print(f"  failed {point or ''}: {failure['error']}".replace(" :", ":"), file=sys.stderr)
    if args.out:
        text = result.to_frame(include_failed=True).to_csv(index=False)
        print(f"table: {write_atomic(args.out, text.encode())}")
    return 1 if result.failed else 0
