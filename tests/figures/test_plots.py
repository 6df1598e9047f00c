"""Every public result type draws itself: ``.plot()`` renders to a non-empty PNG with the Agg
backend, its panels carry axis labels and a title, and what is drawn is the result's data
(checked against the result's own arrays, not against pixels)."""

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import gradtheory as gt
from gradtheory.figures._plot_maps import KIND_COLORS

matplotlib.use("Agg")

LOGISTIC = "r*h*(1-h)"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _rendered(axes) -> np.ndarray:
    """Check labels and titles of every panel; render the figure; return its RGBA pixels."""
    panels = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
    for ax in panels:
        assert isinstance(ax, matplotlib.axes.Axes)
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), ax
    buffer = io.BytesIO()
    panels[0].figure.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    buffer.seek(0)
    pixels = plt.imread(buffer)
    assert pixels.std() > 0.01, "the image is blank"
    return pixels


def _logistic(r: float):
    return gt.Network(gt.cells.custom(LOGISTIC, "h", params={"r": r}))


def test_bifurcation_branches_coloured_by_stability():
    """Logistic map, r in [2.5, 3.5]: x* = 1 - 1/r is stable for r < 3 (|2 - r| < 1) and unstable
    after the period-doubling at r = 3 (May 1976); the drawn branch changes colour there."""
    bif = gt.bifurcation(_logistic(3.0), "r", np.linspace(2.5, 3.5, 41), h0=[0.2], progress=False)
    ax = bif.plot()
    _rendered(ax)
    stable = [ln for ln in ax.lines if ln.get_color() == KIND_COLORS["stable"]]
    unstable = [ln for ln in ax.lines if ln.get_color() == KIND_COLORS["unstable"]]
    x_stable = np.concatenate([ln.get_xdata() for ln in stable])
    y_stable = np.concatenate([ln.get_ydata() for ln in stable])
    # the stable nonzero branch ends at r = 3 and equals 1 - 1/r there
    nonzero = y_stable > 0.1
    assert x_stable[nonzero].max() == pytest.approx(3.0, abs=0.03)
    np.testing.assert_allclose(y_stable[nonzero], 1 - 1 / x_stable[nonzero], atol=1e-9)
    assert any(np.min(ln.get_xdata()) > 2.99 and ln.get_linestyle() == "--" for ln in unstable)


def test_bifurcation_lyapunov_curve_is_the_sweeps_exponent():
    """Logistic map (May 1976): the drawn curve is Sweep.lyapunov; negative at the stable
    fixed point (r = 2.8), near ln 2 at r = 4 (over 2000 kept steps)."""
    rs = np.array([2.8, 3.5, 4.0])
    bif = gt.bifurcation(_logistic(3.0), "r", rs, h0=[0.2], transient=200, keep=2000,
                         sweep="up", branches=False, progress=False)  # fmt: skip
    ax = bif.plot_lyapunov()
    _rendered(ax)
    curve = ax.lines[0]
    np.testing.assert_array_equal(curve.get_ydata(), bif.up.lyapunov)
    np.testing.assert_array_equal(curve.get_xdata(), rs)
    assert curve.get_ydata()[0] < 0 and abs(curve.get_ydata()[-1] - np.log(2)) < 0.05


def test_bifurcation_hysteresis_lines_and_bistable_window():
    """h -> tanh(5 h + b) (Pascanu et al. 2013, Sec. 2.2) is bistable for |b| < b_c = 3.029
    (b_c = w sqrt(1 - 1/w) - artanh sqrt(1 - 1/w)): the shaded window spans it within a grid
    step; the final-state lines are the sweeps' own final states."""
    w, root = 5.0, np.sqrt(1 - 1 / 5.0)
    b_c = w * root - np.arctanh(root)
    net = gt.Network(gt.cells.elman("tanh"), 1, 1, params={"W": [[w]], "U": [[1.0]], "b": [0.0]})
    grid = np.linspace(-5, 5, 101)
    bif = gt.bifurcation(net, "x", grid, h0=[-1.0], transient=40, keep=4, progress=False)
    ax = bif.plot(final=True, multistable=True)
    _rendered(ax)
    (window,) = [p for p in ax.patches if p.get_label().startswith("two or more")]
    left, right = window.get_x(), window.get_x() + window.get_width()  # an axvspan Rectangle
    assert abs(left + b_c) <= 0.1 and abs(right - b_c) <= 0.1
    for sweep, name in ((bif.up, "up"), (bif.down, "down")):
        line = next(ln for ln in ax.lines if ln.get_label() == f"state after the sweep x {name}")
        np.testing.assert_array_equal(line.get_ydata(), sweep.final[:, 0])


def test_basins_two_panels_and_axes_argument():
    """Two bistable tanh units (W = 2 I) have four stable fixed points: four basins, and the
    gradient image holds Basins.log10_gradient; axes= is used as given and checked."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=2, params={"W": 2 * np.eye(2)})
    grid = np.linspace(-1, 1, 25)
    result = gt.basins(net, grid, grid)
    axes = result.plot()
    assert len(axes) == 2
    _rendered(axes)
    np.testing.assert_array_equal(axes[1].images[0].get_array(), result.log10_gradient)
    _, given = plt.subplots(1, 2)
    assert all(a is b for a, b in zip(result.plot(axes=given), given, strict=True))
    with pytest.raises(ValueError, match="axes"):
        result.plot(axes=given[:1])


def test_basins_gradient_distribution_panel():
    """W = 2 I: with ``inside`` a third panel holds the log10 gradient of the boundary cells and
    of the cells deep inside the basins (the result's own boundary masks), medians dashed; the
    gradient is larger on the boundaries (Pascanu et al. 2013, Sec. 2.2)."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=2, params={"W": 2 * np.eye(2)})
    grid = np.linspace(-1, 1, 41)
    result = gt.basins(net, grid, grid, steps=30)
    axes = result.plot(inside=3)
    assert len(axes) == 3
    _rendered(axes)
    log_grad = result.log10_gradient
    deep, edge = log_grad[result.boundary_distance > 3], log_grad[result.boundary]
    medians = [ln.get_xdata()[0] for ln in axes[2].lines]
    assert medians == [np.median(deep), np.median(edge)] and medians[1] > medians[0]
    counts = [sum(p.get_height() * p.get_width() for p in c) for c in axes[2].containers]
    np.testing.assert_allclose(counts, 1.0, rtol=1e-12)  # two normalised histograms
    saddles = np.array([[0.0, 0.96], [0.96, 0.0]])
    for ax in result.plot(saddles=saddles):  # both maps mark the given saddles
        marks = next(ln for ln in ax.lines if ln.get_label() == "saddle")
        np.testing.assert_array_equal(np.column_stack(marks.get_data()), saddles)
    no_gradient = gt.basins(net, grid, grid, steps=30, gradient=False)
    with pytest.raises(ValueError, match="'inside'"):
        no_gradient.plot(inside=3)


def test_fixed_points_2d_flow_nullclines_and_unit_circle():
    """W = 2 I tanh units: 9 fixed points (3 per unit), 4 stable, 4 saddles, 1 unstable; the
    eigenvalue panel shows all 18 eigenvalues and the unit circle."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=2, params={"W": 2 * np.eye(2)})
    fps = gt.fixed_points(net, progress=False)
    assert sorted(fps.kind) == sorted(["stable"] * 4 + ["saddle"] * 4 + ["unstable"])
    space, spectrum = fps.plot(net=net)
    _rendered([space, spectrum])
    drawn = np.concatenate([ln.get_xdata() for ln in spectrum.lines if ln.get_marker() != "None"])
    assert drawn.size == fps.eigenvalues.size
    circle = [ln for ln in spectrum.lines if ln.get_label() == "$|\\lambda| = 1$"]
    np.testing.assert_allclose(np.hypot(*circle[0].get_data()), 1.0)
    assert space.collections, "streamplot and nullclines missing"


def test_fixed_points_nd_projected_on_principal_axes():
    """Three bistable units: 27 fixed points, drawn on their first two principal axes."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=3, params={"W": 2 * np.eye(3)})
    fps = gt.fixed_points(net, progress=False, seed=0)
    space, _ = fps.plot()
    _rendered(space)
    assert space.get_xlabel() == "principal axis 1"
    drawn = sum(len(ln.get_xdata()) for ln in space.lines)
    assert drawn == len(fps)


def test_attractor_cobweb_and_return_map():
    """r = 3.5: the 4-cycle of the logistic map (lecture notes, iterated functions); the cobweb
    path alternates between the graph and the diagonal, the return map closes the cycle."""
    net = _logistic(3.5)
    result = gt.attractor(net, [0.2])
    ax = result.plot(net=net, h0=0.2)
    _rendered(ax)
    cycle = next(ln for ln in ax.lines if ln.get_label() == "cycle points")
    np.testing.assert_allclose(np.sort(cycle.get_xdata()), np.sort(result.points[:, 0]))
    returned = result.plot()
    line = returned.lines[0]
    np.testing.assert_allclose(line.get_ydata(), 3.5 * line.get_xdata() * (1 - line.get_xdata()))


def test_attractor_of_a_two_dimensional_map():
    """Hénon map (a = 1.4, b = 0.3) is chaotic: the recorded orbit is drawn in the plane."""
    henon = gt.cells.custom(
        ["1 - a*x**2 + y", "b*x"], state=["x", "y"], params={"a": 1.4, "b": 0.3}
    )
    net = gt.Network(henon)
    result = gt.attractor(net, [0.1, 0.1], lyap_steps=500)
    assert result.kind == "chaos"
    _rendered(result.plot())


def test_lyapunov_running_means_converge_to_exponents():
    """Logistic map at r = 4: lambda = ln 2 (Ulam and von Neumann); the running mean of the block
    estimates ends at the reported exponent."""
    result = gt.lyapunov(_logistic(4.0), steps=4000, progress=False, return_details=True)
    ax = result.plot()
    _rendered(ax)
    running = next(ln for ln in ax.lines if ln.get_label().startswith("$\\lambda_{1}$"))
    assert running.get_ydata()[-1] == pytest.approx(result.exponents[0], rel=1e-9)
    assert result.exponents[0] == pytest.approx(np.log(2), abs=0.02)


def test_mean_field_phase_diagram_line_is_critical():
    """tanh, the drawn chi_1 = 1 line at sigma_b2 = 0 passes through sigma_w2 = 1 (Poole et al.
    2016); the marked point is this MeanField's."""
    result = gt.mean_field("tanh", 1.5, 0.05)
    ax = result.plot()
    _rendered(ax)
    line = next(ln for ln in ax.lines if "critical" in ln.get_label())
    assert line.get_xdata()[0] == pytest.approx(1.0, abs=1e-6)
    assert line.get_ydata()[0] == 0.0
    point = next(ln for ln in ax.lines if "this network" in ln.get_label())
    assert (point.get_xdata()[0], point.get_ydata()[0]) == (1.5, 0.05)
    assert "chi_1" in result._repr_latex_()


def test_phase_diagram_draws_half_log_chi1_and_the_critical_line():
    """tanh (Poole et al. 2016): the colour mesh is 1/2 ln chi_1 of the diagram's own grid, the
    chi_1 = 1 line starts at sigma_w2 = 1 for sigma_b2 = 0 and each of its points has
    chi_1 = 1; the result is still the dict of grids it was before it could draw itself."""
    diagram = gt.phase_diagram("tanh", np.linspace(0.5, 3.0, 6), [0.0, 0.1, 0.2])
    assert set(diagram) >= {"sigma_w2", "sigma_b2", "chi1", "xi_c"}
    ax = diagram.plot(levels=[-0.1, 0.1], line_points=5)
    _rendered(ax)
    mesh = ax.collections[0].get_array().reshape(3, 6)
    np.testing.assert_allclose(mesh, 0.5 * np.log(diagram["chi1"]), rtol=1e-12)
    line = next(ln for ln in ax.lines if "critical" in ln.get_label())
    assert line.get_xdata()[0] == pytest.approx(1.0, abs=1e-6) and line.get_ydata()[-1] == 0.2
    for sw, sb in zip(line.get_xdata(), line.get_ydata(), strict=True):
        assert gt.mean_field("tanh", sw, sb).chi1 == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="chi1"):
        gt.phase_diagram("tanh", [1.0, 2.0], [0.0, 0.1], quantities=("q_star",)).plot()


def test_phase_diagram_of_one_bias_variance_is_a_cut():
    """One sigma_b2: the curve is 1/2 ln chi_1 of the grid, crossing 0 at the marked critical
    sigma_w2 (for tanh at sigma_b2 = 0, sigma_w2 = 1; Poole et al. 2016)."""
    cut = gt.phase_diagram("tanh", np.linspace(0.5, 2.0, 7), [0.0], quantities=("chi1",))
    ax = cut.plot()
    _rendered(ax)
    curve = next(ln for ln in ax.lines if "mean field" in ln.get_label())
    np.testing.assert_allclose(curve.get_ydata(), 0.5 * np.log(cut["chi1"][0]), rtol=1e-12)
    critical = next(ln for ln in ax.lines if "critical" in ln.get_label())
    assert critical.get_xdata()[0] == pytest.approx(1.0, abs=1e-6)


def test_spectra_draws_every_eigenvalue_and_the_unit_circle():
    """0.9 times a rotation by 0.3 rad: eigenvalues 0.9 e^(+-0.3i) (closed form), drawn inside
    the unit circle; a stack of 3 such matrices draws all 6."""
    c, s = np.cos(0.3), np.sin(0.3)
    rotation = 0.9 * np.array([[c, -s], [s, c]])
    result = gt.spectra(np.stack([rotation] * 3))
    assert isinstance(result, dict) and result["spectral_radius"] == pytest.approx([0.9] * 3)
    ax = result.plot(color="red", label="eig")
    _rendered(ax)
    points, circle = ax.lines
    drawn = np.sort_complex(points.get_xdata() + 1j * points.get_ydata())
    expected = np.sort_complex(np.repeat(0.9 * np.exp([-0.3j, 0.3j]), 3))
    np.testing.assert_allclose(drawn, expected, atol=1e-12)
    np.testing.assert_allclose(np.hypot(circle.get_xdata(), circle.get_ydata()), 1.0)
    assert points.get_label() == "eig" and points.get_color() == "red"
    assert len(gt.spectra(rotation).plot(circle=False).lines) == 1


def test_history_marks_every_clipping_event():
    """Clipping at 0.01 (far below the gradient norm) clips every step; each is marked."""
    net = gt.Network(gt.cells.gru(), n_in=2, n_hidden=4, n_out=1)
    history = gt.train(net, gt.tasks.adding(10), steps=8, clip=0.01, progress=False)
    loss_ax, grad_ax = history.plot()
    _rendered([loss_ax, grad_ax])
    marks = next(ln for ln in grad_ax.lines if ln.get_label().startswith("clipped"))
    assert len(marks.get_xdata()) == int(history.clipped.sum()) == 8


def test_history_smooth_draws_the_trailing_moving_average():
    """History.plot(smooth=k): the loss line is the mean of the last k losses (fewer at the
    start), next to the raw loss; checked against the recorded losses by hand."""
    net = gt.Network(gt.cells.gru(), n_in=2, n_hidden=4, n_out=1)
    history = gt.train(net, gt.tasks.adding(10), steps=6, progress=False)
    loss_ax, _ = history.plot(smooth=3)
    _rendered(loss_ax)
    line = next(ln for ln in loss_ax.lines if "moving average of 3" in ln.get_label())
    loss = history.loss
    expected = [loss[0], loss[:2].mean(), *[loss[t - 2 : t + 1].mean() for t in range(2, 6)]]
    np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-14)


def test_moving_average_survives_a_huge_spike():
    """A windowed sum, not a difference of running sums: 1e28 then 1.0 gives back 1.0 exactly
    once the spike has left the window (cancellation would give 0)."""
    from gradtheory.figures._plot_training import moving_average

    assert moving_average([1e28, 1.0, 1.0, 1.0], 2).tolist() == [1e28, 5e27, 1.0, 1.0]


def test_seed_band_draws_the_centre_and_the_min_max_band():
    """seed_band: the line is ``center`` over the seeds, the band spans their min and max."""
    from gradtheory.figures._plot_training import seed_band

    curves = np.array([[1.0, 4.0, 2.0], [3.0, 0.0, 2.0], [2.0, 1.0, 5.0]])
    ax = seed_band(None, [0, 1, 2], curves, center=np.median, label="three seeds")
    ax.set(xlabel="step", ylabel="loss", title="band")
    _rendered(ax)
    assert ax.lines[0].get_ydata().tolist() == [2.0, 1.0, 2.0]
    lows_highs = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert lows_highs.min() == 0.0 and lows_highs.max() == 5.0


def test_gradients_with_predicted_slope():
    """Linear Elman cell, W with spectral radius 0.5 (normal, gain 0.5): the drawn prediction has
    slope -ln(rho) per step forward in t, i.e. rate = ln rho per step back."""
    net = gt.Network(gt.cells.elman("linear"), n_in=1, n_hidden=6, gain=0.5, seed=1)
    traj = net.forward(np.random.default_rng(0).normal(size=(40, 3, 1)))
    grads = net.backward(traj, np.ones_like(traj.outputs))
    prediction = gt.predict(net)
    ax = grads.plot(prediction=prediction)
    _rendered(ax)
    predicted = next(ln for ln in ax.lines if ln.get_label().startswith("predicted"))
    t, y = predicted.get_data()
    assert np.polyfit(t, y, 1)[0] == pytest.approx(-prediction.rate, rel=1e-9)
    measured = ax.lines[0].get_ydata()
    np.testing.assert_allclose(measured, grads.adjoint_log_norms.mean(axis=1))


def test_prediction_and_verification_draw():
    """A Prediction draws its decay line rate * k; Verification keeps its existing plot."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=16, gain=0.5)
    verification = gt.verify(net, steps=60, batch=4)
    ax = verification.predicted.plot()
    _rendered(ax)
    k, y = ax.lines[0].get_data()
    np.testing.assert_allclose(y, verification.predicted.rate * k)
    axv = verification.plot()
    _rendered(axv)
    assert axv.get_title().endswith("agree" if verification.agrees else "disagree")
    measured, predicted = (line.get_label() for line in axv.lines)  # both rates are named
    assert measured.endswith(f"rate {verification.measured_rate:+.3g}/step")
    assert predicted.endswith(f"rate {verification.predicted.rate:+.3g}/step")
    assert "e^{" in verification.predicted._repr_latex_()


def test_verifications_share_one_axes():
    """Two Verifications on one Axes without bands: each measured curve is its log_norms, each
    predicted line has the predicted rate as its slope per step back (verify's fitted line)
    and takes the given style."""
    ax = None
    for gain, colour in ((0.5, "red"), (0.8, "blue")):
        net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=16, gain=gain, seed=1)
        check = gt.verify(net, steps=60, batch=4)
        ax = check.plot(ax, band=False, predicted={"color": "black"}, color=colour)
        measured, predicted = ax.lines[-2:]
        np.testing.assert_array_equal(measured.get_ydata(), check.log_norms)
        assert measured.get_color() == colour and predicted.get_color() == "black"
        k, y = predicted.get_data()
        assert np.polyfit(k, y, 1)[0] == pytest.approx(check.predicted.rate, rel=1e-9)
    assert len(ax.lines) == 4 and not ax.collections


def test_trajectory_draws_the_hidden_states():
    """The lines are Trajectory.hidden of the chosen sequence; a bad sequence index is refused."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=3, seed=0)
    traj = net.forward(np.random.default_rng(0).normal(size=(12, 2, 1)))
    ax = traj.plot(sequence=1)
    _rendered(ax)
    np.testing.assert_array_equal(ax.lines[2].get_ydata(), traj.hidden[:, 1, 2])
    with pytest.raises(ValueError, match="sequence"):
        traj.plot(sequence=2)
