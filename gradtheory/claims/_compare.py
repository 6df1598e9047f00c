"""Predicted-vs-measured rows of the claims, and the tolerances they share (named once, here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["RULES", "Comparison", "summarise"]

#: float64 BPTT against a closed form or an independent product of the same factors: the two
#: differ by rounding only (a few ulps per step over at most a few hundred steps).
ROUNDING = 1e-10
#: one step's Jacobian (a bound on one factor, or the Jacobian at a point against its closed
#: form) in float64: the rounding of a single product.
ONE_STEP = 1e-12
#: a product of recorded gates (f_t of the LSTM, z_t of the GRU) as the estimate of the log
#: gradient through the gated path: within 5 % of the measured value, floor 1 in log units.
GATE_PRODUCT = 0.05

#: rule -> (test on predicted p, measured m, tolerance t; how the report states it)
RULES = {
    "abs": (lambda p, m, t: np.abs(m - p) <= t, "|measured - predicted| <= {t:.3g}"),
    "rel": (
        lambda p, m, t: abs(m - p) <= t * abs(p),
        "|measured - predicted| <= {t:.3g} |predicted|",
    ),
    "rel, floor 1": (
        lambda p, m, t: np.abs(m - p) <= t * np.maximum(1.0, np.abs(p)),
        "|measured - predicted| <= {t:.3g} max(1, |predicted|)",
    ),
    "equal": (None, "measured == predicted"),
    "below": (lambda p, m, t: m < p - t, "measured < predicted - {t:.3g}"),
    "above": (lambda p, m, t: m > p + t, "measured > predicted + {t:.3g}"),
    "at most": (lambda p, m, t: m <= p + t, "measured <= predicted + {t:.3g}"),
    "at least": (lambda p, m, t: m >= p - t, "measured >= predicted - {t:.3g}"),
}


@dataclass(frozen=True)
class Comparison:
    """One row of a claim: what theory predicts, what the executor measured, and the test.

    ``rule`` is a key of :data:`RULES` applied with ``tolerance``; a row decided by a test of
    its own (for example :func:`gradtheory.verify`'s) passes ``agrees`` and states that test
    in ``rule``.

    Examples
    --------
    >>> Comparison("w^50 at w = 1.1", 117.39, 117.39, 1e-10, "rel").agrees
    True
    >>> Comparison("largest factor", 0.25, 0.2499, rule="at most").agrees
    True
    >>> Comparison("fixed points", [0.0, 0.714], [0.0, 0.7143], 1e-3).agrees
    True
    >>> Comparison("attractor kind", "cycle", "chaos", rule="equal").agrees
    False
    """

    quantity: str
    predicted: float | str
    measured: float | str
    tolerance: float = 0.0
    rule: str = "abs"
    agrees: bool | None = None

    def __post_init__(self):
        if self.agrees is None:
            if self.rule not in RULES:
                raise ValueError(
                    f"Comparison: argument 'rule' must be one of {sorted(RULES)} unless "
                    f"'agrees' is given; got {self.rule!r}"
                )
            object.__setattr__(self, "agrees", self._test())

    @classmethod
    def from_check(cls, quantity: str, check) -> Comparison:
        """The row of a :func:`gradtheory.verify` result, decided by its own stated tolerance."""
        return cls(quantity, check.predicted.rate, check.measured_rate, check.tolerance,
                   "gt.verify (rate within its tolerance)", agrees=bool(check.agrees))  # fmt: skip

    def _test(self) -> bool:
        if self.rule == "equal":
            return bool(np.array_equal(np.asarray(self.predicted), np.asarray(self.measured)))
        p, m = np.asarray(self.predicted, float), np.asarray(self.measured, float)
        # arrays compare element by element and must have the same shape
        return p.shape == m.shape and bool(np.all(RULES[self.rule][0](p, m, self.tolerance)))

    def row(self) -> dict:
        """The row as written to the claim's JSON, with the rule stated in words."""
        row = asdict(self)
        if self.rule in RULES:
            row["rule"] = RULES[self.rule][1].format(t=self.tolerance)
        return row


def _number(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_number(v) for v in value) + "]"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def summarise(rows: list[Comparison], numbers: dict, headline: list[str]) -> str:
    """The claim's summary sentence, generated from its rows and its ``headline`` numbers.

    Examples
    --------
    >>> summarise([Comparison("a", 1.0, 1.0)], {"x": 0.5}, ["x"])
    '1 of 1 comparisons agree. x = 0.5.'
    """
    failed = [r.quantity for r in rows if not r.agrees]
    text = f"{len(rows) - len(failed)} of {len(rows)} comparisons agree"
    more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
    text += f" (not: {'; '.join(failed[:3])}{more})." if failed else "."
    if headline:
        text += " " + "; ".join(f"{k} = {_number(numbers[k])}" for k in headline) + "."
    return text
