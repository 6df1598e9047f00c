"""Every claim of the lecture notes and the literature, each one script in ``analyses/``.

``analyses/<name>.py`` (in an installed wheel: ``gradtheory/analyses/``) states its claim and
source, measures, compares and plots with the public API. This package adds that folder to its
own search path, so claim ``name`` is the module ``gradtheory.claims.<name>`` in every process.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from . import _compare as tolerances
from ._compare import Comparison
from ._registry import (
    CLAIMS,
    STORE_ROOT,
    Claim,
    ClaimResult,
    claim,
    default_outdir,
    main,
    run_claim,
)

__all__ = ["ANALYSES", "CLAIMS", "STORE_ROOT", "Claim", "ClaimResult", "Comparison", "claim",
           "default_outdir", "load", "load_all", "main", "run_claim", "tolerances"]  # fmt: skip


def _analyses_folder() -> Path:
    here = Path(__file__).resolve().parent
    for folder in (here.parent / "analyses", here.parents[1] / "analyses"):
        if folder.is_dir():
            return folder
    raise ImportError(f"gradtheory.claims: no analyses/ folder next to {here.parent}")


#: the folder of the claim scripts.
ANALYSES = _analyses_folder()
__path__.append(str(ANALYSES))

#: Report order: the lecture notes' story first, then the quantitative predictors.
ORDER = """chain_rule linear_power spectral_conditions jacobian_eigenvalues input_sensitivity
lstm_carousel gru_gates logistic_map single_unit_bifurcation basins_gradient loss_cliff
lyapunov_gain mean_field_phase depth_gradients lstm_forget_gate regime_during_training
adding_learning_curves tbptt_window reverse_input clipping_pathological latching flipflop_gru
digits_sequential""".split()  # noqa: SIM905 (one name list, easier to read as words)


def load(name: str) -> Claim:
    """Import the claim script ``name`` (only that one) and return its registry entry."""
    if name in CLAIMS:  # already imported, or registered by the caller
        return CLAIMS[name]
    if name.startswith("_") or not (ANALYSES / f"{name}.py").is_file():
        known = ", ".join(p.stem for p in sorted(ANALYSES.glob("[!_]*.py")))
        raise ValueError(f"unknown claim {name!r}; known claims: {known}")
    importlib.import_module(f"{__name__}.{name}")
    return CLAIMS[name]


def load_all() -> dict[str, Claim]:
    """Import every claim script (idempotent) and return the registry in report order."""
    for path in sorted(ANALYSES.glob("[!_]*.py")):
        load(path.stem)
    ordered = {k: CLAIMS[k] for k in ORDER if k in CLAIMS}
    ordered.update({k: CLAIMS[k] for k in sorted(CLAIMS) if k not in ordered})
    CLAIMS.clear()
    CLAIMS.update(ordered)
    return CLAIMS
