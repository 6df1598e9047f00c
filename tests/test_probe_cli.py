"""Probe: every flag of the ``gradtheory`` command with bad values exits 2 with one line.

Fact checked (issue 10, item 3): a bad command line is a usage error, reported as exactly one
line on stderr that starts with ``gradtheory`` and names the option, with exit status 2 and no
traceback (``--debug`` shows one). Runs in-process through ``gradtheory.cli.main(argv)``;
hypothesis draws the bad values (few examples: the checks run when options are parsed, before
any work starts). Also the concrete cases from the issue: ``predict --gain 1e300``,
``train --depth 5 --T 10``, ``derive elman-tanh --activation relu``, an unusable ``--save``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtheory.cli import main

CLI = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_TEXT = st.sampled_from(["abc", "", "1.5.2", "0x", "[]", "nan", "inf", "-inf"])
BAD = {
    "count": st.one_of(st.integers(max_value=0).map(str), _TEXT, st.just("2.5")),
    "nonneg": st.one_of(st.integers(max_value=-1).map(str), _TEXT, st.just("2.5")),
    "positive": st.one_of(st.floats(max_value=0, allow_nan=False).map(repr), _TEXT),
    "nonneg_real": st.one_of(st.floats(max_value=-1e-300, allow_nan=False).map(repr), _TEXT),
    "huge": st.sampled_from(["1e300", "1e200", "1e308", "inf"]),
    "choice": st.sampled_from(["nope", "ADAM!", "", "x" * 40, "auto2"]),
}


def run(argv, capsys):
    status = main(argv)
    err = capsys.readouterr().err.strip()
    return status, err


def assert_usage_error(status, err, words):
    assert status == 2, err
    assert "\n" not in err and err.startswith("gradtheory"), err
    assert "Traceback" not in err
    assert words in err, err


NETWORK_FLAGS = [
    ("--hidden", "count"),
    ("--gain", "nonneg_real"),
    ("--gain", "huge"),
    ("--sigma-b2", "nonneg_real"),
    ("--depth", "count"),
    ("--seed", "nonneg"),
    ("--init", "choice"),
]
FLAGS = (
    [
        (command, flag, kind)
        for command in ("train", "predict", "verify")
        for flag, kind in NETWORK_FLAGS
    ]
    + [
        ("train", flag, kind)
        for flag, kind in [
            ("--T", "count"),
            ("--steps", "count"),
            ("--batch", "count"),
            ("--lr", "positive"),
            ("--clip", "positive"),
            ("--tbptt", "count"),
            ("--optimizer", "choice"),
            ("--task", "choice"),
        ]
    ]
    + [
        (c, f, k)
        for c in ("predict", "verify")
        for f, k in [("--T", "count"), ("--method", "choice")]
    ]
    + [("reproduce", "--seed", "nonneg")]
)


@pytest.mark.parametrize("command, flag, kind", FLAGS, ids=[" ".join(f) for f in FLAGS])
def test_bad_flag_value_is_one_line_exit_2(command, flag, kind, capsys):
    """Each flag with a bad value: exit 2, one line naming the flag, no traceback."""
    head = [command] if command == "reproduce" else [command, "elman"]

    @CLI
    @given(value=BAD[kind])
    def probe(value):
        status, err = run(
            [*head, f"{flag}={value}", "--quiet"][: None if command == "train" else -1], capsys
        )
        assert_usage_error(status, err, flag)

    probe()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["predict", "elman", "--gain", "1e300"], "--gain"),
        (["train", "elman", "--depth", "5", "--T", "10", "--steps", "2", "--quiet"], "depth"),
        (["derive", "elman-tanh", "--activation", "relu"], "--activation"),
        (["derive", "lstm", "--activation", "relu"], "activation"),
        (["train", "elman", "--nonsense"], "--nonsense"),
        (["predict"], "cell"),
        (["frobnicate"], "frobnicate"),
        (["report", "--outdir", "/nonexistent-gradtheory/folder"], "--outdir"),
        (["train", "elman", "--task", "digits", "--T", "5", "--quiet"], "--T"),
        (["derive", "nosuchcell"], "CELL must be one of"),
        (["list", "--foo"], "--foo"),
        (["report", "--nope"], "--nope"),
        (["reproduce", "--quick"], "--all"),
        (["verify", "elman", "--T", "1"], "too few steps"),
    ],
)
def test_concrete_cases_from_the_issue(argv, words, capsys):
    """The cases the probe of issue 10 found print one line and exit 2, naming the option."""
    assert_usage_error(*run(argv, capsys), words)


def test_debug_shows_the_traceback(capsys):
    """--debug (anywhere on the line) adds the traceback; the last line stays the message."""
    status, err = run(["--debug", "predict", "elman", "--gain", "1e300"], capsys)
    assert status == 2 and "Traceback" in err
    assert err.splitlines()[-1].startswith("gradtheory predict: error: argument --gain")


def test_unusable_save_path_fails_before_training(tmp_path, capsys, monkeypatch):
    """--save into a path that cannot be written exits 2 before any training step runs."""
    import gradtheory.numeric.train as train_module

    def no_training(*args, **kwargs):
        raise AssertionError("training started although --save cannot be written")

    monkeypatch.setattr(train_module, "train", no_training)
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    status, err = run(["train", "elman", "--steps", "1", "--save", str(blocker / "x")], capsys)
    assert_usage_error(status, err, "--save")


def test_failed_save_after_training_keeps_the_result(tmp_path, capsys, monkeypatch):
    """A save that fails after training writes the history to a fallback path it names."""
    from gradtheory.io import load_result
    from gradtheory.numeric.train import History

    original = History.save
    calls = []

    def flaky(self, stem):
        calls.append(stem)
        if len(calls) == 1:
            raise PermissionError(13, "Permission denied")
        original(self, stem)

    monkeypatch.setattr(History, "save", flaky)
    argv = ["train", "elman", "--T", "5", "--steps", "2", "--quiet", "--save", str(tmp_path / "h")]
    status = main(argv)
    err = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in err
    fallback = calls[1]
    assert f"{fallback}.npz" in err
    arrays, meta = load_result(fallback)
    assert arrays["loss"].shape == (2,) and meta["settings"]["steps"] == 2
