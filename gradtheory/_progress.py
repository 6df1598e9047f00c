"""The one way gradtheory shows progress: a tqdm bar on a terminal, for work over about a second.

A bar written into a log file (stderr redirected) is noise, and one that flashes for a 20 ms
call is distracting; so :func:`progress_bar` gives a disabled bar unless stderr is a terminal,
and an enabled one only appears once the work has run for :data:`DELAY_S` seconds (tqdm's
``delay``). Set ``GRADTHEORY_PROGRESS=0`` to switch bars off everywhere.
"""

from __future__ import annotations

import os
import sys

__all__ = ["DELAY_S", "progress_bar", "wanted"]

#: Seconds of work before a bar appears.
DELAY_S = 1.0


def wanted(enable: bool = True, stream=None) -> bool:
    """True when a bar should be drawn: asked for, not switched off, and stderr is a terminal.

    Examples
    --------
    >>> import io
    >>> wanted(True, stream=io.StringIO())
    False
    """
    if not enable or os.environ.get("GRADTHEORY_PROGRESS", "1") == "0":
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class _NoBar:
    """Stands in for a disabled tqdm bar without importing tqdm (warm calls cost microseconds)."""

    disable = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def write(self, text: str, file=None) -> None:
        print(text, file=file)

    def __getattr__(self, name: str):  # update, close, set_postfix, refresh, ...: no-ops
        return lambda *args, **kw: None


def progress_bar(total: int | None = None, *, desc: str = "", enable: bool = True, **kw):
    """A tqdm bar (use ``.update(n)``, ``.close()`` or ``with``); silent unless :func:`wanted`.

    Examples
    --------
    >>> with progress_bar(3, desc="demo", enable=False) as bar:
    ...     bar.update(3)
    >>> bar.disable
    True
    """
    if not wanted(enable):
        return _NoBar()
    from tqdm.auto import tqdm

    kw.setdefault("leave", False)
    return tqdm(total=total, desc=desc, delay=DELAY_S, **kw)
