"""gradtheory: derive, execute, predict and verify vanishing and exploding gradients.

The public names are re-exported here; everything else is private.

>>> import gradtheory as gt
>>> net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=4)
>>> gt.predict(net).regime in ("vanishing", "exploding", "critical")
True
"""

from . import cells
from ._version import __version__
from .analysis.basins import Basins, basins
from .analysis.batchnorm import batchnorm_gradient_factor
from .analysis.bifurcation import Bifurcation, bifurcation
from .analysis.fixed_points import FixedPoints, fixed_points
from .analysis.jacobians import (
    Spectra,
    jacobians,
    pascanu_conditions,
    product_log_singular_values,
    spectra,
)
from .analysis.lyapunov import LyapunovResult, lyapunov
from .analysis.maps import Attractor, attractor, cobweb, orbit
from .analysis.mean_field import (
    MeanField,
    PhaseDiagram,
    critical_sigma_w2,
    mean_field,
    phase_diagram,
    rnn_mean_field,
)
from .analysis.predict import Prediction, predict
from .analysis.verify import Verification, track, verify
from .numeric import tasks
from .numeric.batchnorm import batch_jacobian, batch_jvp, batch_vjp
from .numeric.network import Network
from .numeric.torch_interop import from_torch, to_torch
from .numeric.train import History, train
from .numeric.trajectory import Gradients, Trajectory
from .sweeps import SweepResult, sweep
from .symbolic.batchnorm import BatchNormDerivation
from .symbolic.derive import Derivation, derive
from .symbolic.unroll import Unrolled, unroll

__all__ = [
    "Attractor",
    "Basins",
    "BatchNormDerivation",
    "Bifurcation",
    "Derivation",
    "FixedPoints",
    "Gradients",
    "History",
    "LyapunovResult",
    "MeanField",
    "Network",
    "PhaseDiagram",
    "Prediction",
    "Spectra",
    "SweepResult",
    "Trajectory",
    "Unrolled",
    "Verification",
    "__version__",
    "attractor",
    "basins",
    "batch_jacobian",
    "batch_jvp",
    "batch_vjp",
    "batchnorm_gradient_factor",
    "bifurcation",
    "cells",
    "cobweb",
    "critical_sigma_w2",
    "derive",
    "fixed_points",
    "from_torch",
    "jacobians",
    "lyapunov",
    "mean_field",
    "orbit",
    "pascanu_conditions",
    "phase_diagram",
    "predict",
    "product_log_singular_values",
    "rnn_mean_field",
    "spectra",
    "sweep",
    "tasks",
    "to_torch",
    "track",
    "train",
    "unroll",
    "verify",
]
