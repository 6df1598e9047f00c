"""What the command prints or writes: aligned tables for people, JSON for scripts, figures.

``gradtheory predict|verify|train`` print an aligned two-column table by default; ``--json``
prints one JSON object instead (non-finite floats as the strings "inf", "-inf", "nan", so that
the output is strict JSON); ``--plot FILE`` writes the result's ``.plot()`` figure, its format
taken from FILE's suffix (png, svg, pdf).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

__all__ = [
    "aligned",
    "history_record",
    "plot_format",
    "prediction_record",
    "print_result",
    "verification_record",
    "write_plot",
]


def aligned(rows: list[tuple[str, object]]) -> str:
    """Two columns, the first padded to its widest entry.

    >>> print(aligned([("regime", "vanishing"), ("rate / step", "-0.1")]))
    regime       vanishing
    rate / step  -0.1
    """
    width = max((len(key) for key, _ in rows), default=0)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


def prediction_record(prediction) -> dict:
    """The fields of a Prediction as plain values."""
    return {
        "regime": prediction.regime,
        "rate": prediction.rate,
        "horizon": prediction.horizon,
        "method": prediction.method,
        "band": prediction.band,
        "per_layer": prediction.per_layer,
        "assumptions": list(prediction.assumptions),
    }


def prediction_rows(prediction) -> list[tuple[str, object]]:
    rows = [
        ("regime", prediction.regime),
        ("rate / step", f"{prediction.rate:+.5f}"),
        ("horizon (1000-fold fall)", f"{prediction.horizon:.1f} steps"),
        ("method", prediction.method),
        ("critical band", f"+-{prediction.band:g}"),
    ]
    rows += [("assumes", line) for line in prediction.assumptions]
    return rows


def verification_record(check) -> dict:
    """The fields of a Verification as plain values (the prediction nested)."""
    return {
        "predicted": prediction_record(check.predicted),
        "measured_rate": check.measured_rate,
        "measured_stderr": check.measured_stderr,
        "tolerance": check.tolerance,
        "agrees": bool(check.agrees),
        "window": list(check.window),
        "per_layer": check.per_layer,
    }


def history_record(history, baseline: float) -> dict:
    """Summary and per-step arrays of a training History."""
    last = max(history.scores) if history.scores else None
    return {
        "steps": len(history.loss),
        "final_loss": float(history.loss[-1]) if len(history.loss) else float("nan"),
        "baseline_loss": baseline,
        "final_score": history.scores.get(last, float("nan")),
        "clipped_steps": int(np.sum(history.clipped)),
        "diverged_at": history.diverged_at,
        "message": history.message,
        "settings": history.settings,
        "loss": history.loss,
        "grad_norm": history.grad_norm,
    }


def print_result(record: dict, rows: list[tuple[str, object]], as_json: bool) -> None:
    """``record`` as one JSON object, or ``rows`` as an aligned table."""
    from .io import _jsonable

    if as_json:
        print(json.dumps(_jsonable(record), indent=2, allow_nan=False))
    else:
        print(aligned(rows))


def plot_format(path: str | Path | None) -> str | None:
    """The figure format named by ``path``'s suffix (checked before any work is done)."""
    if path is None:
        return None
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(
            f"--plot: argument 'FILE' must end in .png, .svg or .pdf; got {str(path)!r}"
        )
    return fmt


def write_plot(axes, path: str | Path) -> Path:
    """Save the figure holding ``axes`` (one Axes or an array) to ``path``, atomically."""
    import matplotlib.pyplot as plt

    from .io import write_atomic

    fmt = plot_format(path)
    figure = np.ravel(np.asarray(axes, dtype=object))[0].figure
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt)
    plt.close(figure)
    return write_atomic(Path(path), buffer.getvalue())
