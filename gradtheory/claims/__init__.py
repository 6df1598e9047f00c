"""Every claim of the lecture notes and the literature, each reproducible from one function.

Claims live one per module in this package and register themselves with
:func:`gradtheory.claims._registry.claim`; ``analyses/<name>.py`` is the standalone script of
each, and ``gradtheory reproduce`` runs them all.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._registry import CLAIMS, Claim, ClaimResult, claim, run_claim

__all__ = ["CLAIMS", "Claim", "ClaimResult", "claim", "load_all", "run_claim"]

#: Report order: the lecture notes' story first, then the quantitative predictors.
ORDER = [
    "chain_rule",
    "linear_power",
    "spectral_conditions",
    "jacobian_eigenvalues",
    "input_sensitivity",
    "lstm_carousel",
    "gru_gates",
    "logistic_map",
    "single_unit_bifurcation",
    "basins_gradient",
    "loss_cliff",
    "lyapunov_gain",
    "mean_field_phase",
    "depth_gradients",
    "lstm_forget_gate",
    "regime_during_training",
    "adding_learning_curves",
    "tbptt_window",
    "reverse_input",
    "clipping_pathological",
    "latching",
    "flipflop_gru",
    "digits_sequential",
]


def load_all() -> dict[str, Claim]:
    """Import every claim module (idempotent) and return the registry in report order."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    ordered = {k: CLAIMS[k] for k in ORDER if k in CLAIMS}
    ordered.update({k: v for k, v in CLAIMS.items() if k not in ordered})
    CLAIMS.clear()
    CLAIMS.update(ordered)
    return CLAIMS
