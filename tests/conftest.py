"""Test-wide settings: a non-interactive plotting backend and one BLAS thread.

The tests multiply small matrices, where two BLAS threads on the 2-core CI machine are several
times slower than one (see bench/); limiting them keeps the suite fast and its timing steady.
"""

import matplotlib
import pytest
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield
