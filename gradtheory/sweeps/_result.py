"""``SweepResult``: the records of a sweep, as a table and as a figure with seed bands."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._grid import canonical

__all__ = ["SweepResult"]


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@dataclass
class SweepResult:
    """What :func:`gradtheory.sweep` returns.

    Attributes
    ----------
    points : list of dict
        Every point of the grid, in grid order.
    records : list of dict
        One dict per finished point, in grid order: the point's values, then its outputs.
    failed : list of dict
        One dict per point whose call raised: the point's values and ``"error"`` (its text).
    """

    points: list
    records: list
    failed: list

    @property
    def axes(self) -> list[str]:
        """Names of the grid axes, in the order they first appear."""
        names: dict[str, None] = {}
        for point in self.points:
            names.update(dict.fromkeys(point))
        return list(names)

    def to_frame(self, include_failed: bool = False):
        """A pandas DataFrame, one row per record; scalar outputs as columns (arrays left out).

        With ``include_failed``, every point of the grid has its row, in grid order, and the
        failed ones an ``error`` column (their outputs empty).

        Examples
        --------
        >>> import numpy as np
        >>> result = SweepResult([{"x": 1}], [{"x": 1, "y": 2.0, "v": np.zeros(3)}], [])
        >>> result.to_frame().columns.tolist()
        ['x', 'y']
        """
        import pandas as pd

        rows = [
            {k: v for k, v in record.items() if not isinstance(v, np.ndarray)}
            for record in self.records
        ]
        if include_failed:
            axes = self.axes
            by_point = {canonical({a: r.get(a) for a in axes}): r for r in rows + self.failed}
            rows = [by_point[canonical({a: p.get(a) for a in axes})] for p in self.points]
        return pd.DataFrame(rows)

    def summary(self, outputs: list[str] | None = None, by: list[str] | None = None):
        """Mean and 95% t-interval (half-width) of outputs over the points of each setting.

        Parameters
        ----------
        outputs : list of str, optional
            Numeric (or boolean: the mean is a fraction) outputs; default all of them. None
            values (say ``diverged_at`` of a run that did not diverge) are left out of means.
        by : list of str, optional
            Axes that define a setting; default every axis but ``seed`` that takes more than
            one value.

        Returns
        -------
        pandas.DataFrame
            One row per setting (first-seen order): the ``by`` axes, ``n`` (finished points),
            then ``<output>`` (mean) and ``<output>_ci95`` (NaN below 2 values) per output.

        Examples
        --------
        >>> rows = [{"T": t, "seed": s, "loss": t + s} for t in (50, 100) for s in (0, 1, 2)]
        >>> points = [{"T": r["T"], "seed": r["seed"]} for r in rows]
        >>> SweepResult(points, rows, []).summary().round(3).values.tolist()
        [[50.0, 3.0, 51.0, 2.484], [100.0, 3.0, 101.0, 2.484]]
        """
        import pandas as pd

        frame = self.to_frame()
        axes = [a for a in self.axes if a in frame]
        if by is None:
            by = [a for a in axes if a != "seed" and frame[a].nunique(dropna=False) > 1]
        unknown = [a for a in by if a not in axes]
        if unknown:
            raise ValueError(f"summary: argument 'by' must name grid axes {axes}; got {unknown}")
        if outputs is None:
            outputs = [c for c in frame.columns if c not in axes]
        numbers = {}
        for name in outputs:
            if name not in frame:
                raise ValueError(f"summary: argument 'outputs' has {name!r}, not an output")
            column = frame[name]
            if column.dtype == object and all(v is None or _is_number(v) for v in column):
                column = pd.to_numeric(column, errors="coerce")
            if column.dtype.kind in "biuf":
                numbers[name] = column.astype(float)
        rows = []
        groups = frame.groupby(by, sort=False, dropna=False) if by else [((), frame)]
        for key, group in groups:
            row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
            row["n"] = len(group)
            for name, column in numbers.items():
                values = column.loc[group.index].to_numpy()
                values = values[np.isfinite(values)]
                row[name] = values.mean() if values.size else np.nan
                row[f"{name}_ci95"] = _half_width(values)
            rows.append(row)
        return pd.DataFrame(rows)

    def complete(self) -> SweepResult:
        """``self`` when every point finished, else a RuntimeError saying how many failed and
        the first one's error (for a script that must not go on with a partial grid).

        Examples
        --------
        >>> SweepResult([{"x": 1}], [], [{"x": 1, "error": "boom"}]).complete()
        Traceback (most recent call last):
        ...
        RuntimeError: 1 of 1 point(s) failed; first: {'x': 1, 'error': 'boom'}
        """
        if self.failed:
            raise RuntimeError(
                f"{len(self.failed)} of {len(self.points)} point(s) failed; first: {self.failed[0]}"
            )
        return self

    def select(self, **values) -> SweepResult:
        """The points whose axes have the given values, e.g. ``result.select(T=100)``."""
        unknown = set(values) - set(self.axes)
        if unknown:
            raise ValueError(
                f"select: argument(s) {sorted(unknown)} must be grid axes {self.axes}; "
                f"got {values!r}"
            )

        def keep(row):
            return all(row.get(k) == v for k, v in values.items())

        return SweepResult(
            [p for p in self.points if keep(p)],
            [r for r in self.records if keep(r)],
            [f for f in self.failed if keep(f)],
        )

    def plot(self, x: str, y: str, hue: str | None = None, ax=None):
        """Draw output ``y`` against axis ``x``, one line per value of ``hue``.

        Over a ``seed`` axis the line is the mean, the band its 95% t-interval (where there
        are at least 2 seeds) and the dots the individual seeds. Every other axis must have a
        single value (narrow it with :meth:`select`).

        Returns
        -------
        matplotlib Axes

        Examples
        --------
        >>> rows = [{"T": t, "seed": s, "loss": t / 100 + s} for t in (50, 100) for s in (0, 1)]
        >>> points = [{"T": r["T"], "seed": r["seed"]} for r in rows]
        >>> ax = SweepResult(points, rows, []).plot("T", "loss")
        >>> ax.get_xlabel(), ax.get_ylabel()
        ('T', 'loss')
        """
        from ..figures.style import PALETTE, new_figure

        axes = self.axes
        for name, role in ((x, "x"), (hue, "hue")):
            if name is not None and name not in axes:
                raise ValueError(
                    f"plot: argument {role!r} must be one of the axes {axes}; got {name!r}"
                )
        if not self.records or y not in self.records[0]:
            known = [k for k in (self.records[0] if self.records else {}) if k not in axes]
            raise ValueError(f"plot: argument 'y' must be one of the outputs {known}; got {y!r}")
        others = [
            a
            for a in axes
            if a not in (x, hue, "seed") and len({_key(p.get(a)) for p in self.points}) > 1
        ]
        if others:
            raise ValueError(
                f"plot: axes {others} vary but are neither x, hue nor seed; narrow them with "
                f"select(), e.g. result.select({others[0]}=...)"
            )
        if ax is None:
            _, ax = new_figure()
        groups: dict = {}
        for record in self.records:
            groups.setdefault(record.get(hue) if hue else None, {}).setdefault(
                record[x], []
            ).append(float(record[y]) if record[y] is not None else np.nan)
        xs_all = sorted({r[x] for r in self.records}, key=_key)
        numeric = all(_is_number(v) for v in xs_all)
        position = {v: (v if numeric else i) for i, v in enumerate(xs_all)}
        ordered = sorted(groups.items(), key=lambda kv: _key(kv[0]))
        for i, (label, by_x) in enumerate(ordered):
            colour = PALETTE[i % len(PALETTE)]
            xs = sorted(by_x, key=_key)
            pos = np.array([position[v] for v in xs], dtype=float)
            means, lows, highs = [], [], []
            for v in xs:
                values = np.array(by_x[v])
                values = values[np.isfinite(values)]
                mean = values.mean() if values.size else np.nan
                half = _half_width(values)
                means.append(mean), lows.append(mean - half), highs.append(mean + half)
                ax.plot(
                    np.full(values.size, position[v], dtype=float),
                    values,
                    "o",
                    color=colour,
                    alpha=0.35,
                    markersize=4,
                )
            name = f"{hue} = {label}" if hue else None
            ax.plot(pos, means, "-", color=colour, label=name)
            if any(np.isfinite(lows)):
                ax.fill_between(pos, lows, highs, color=colour, alpha=0.2, linewidth=0)
        if not numeric:
            ax.set_xticks(range(len(xs_all)), [str(v) for v in xs_all])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        if hue:
            ax.legend()
        return ax

    def __repr__(self) -> str:
        axes = ", ".join(f"{a}: {len({_key(p.get(a)) for p in self.points})}" for a in self.axes)
        return (
            f"SweepResult({len(self.points)} points ({axes}); "
            f"{len(self.records)} finished, {len(self.failed)} failed)"
        )


def _key(value):
    """Sort key that orders numbers numerically and puts anything else after them as text."""
    return (0, value, "") if _is_number(value) else (1, 0, str(value))


def _half_width(values: np.ndarray) -> float:
    """Half-width of the 95% t-interval of the mean (NaN below 2 values)."""
    if values.size < 2:
        return np.nan
    from scipy import stats  # here, not at import: a pool worker need not load scipy.stats

    stderr = values.std(ddof=1) / np.sqrt(values.size)
    return float(stats.t.ppf(0.975, values.size - 1) * stderr)
