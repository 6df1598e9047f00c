"""Test-wide settings: a non-interactive plotting backend and one BLAS thread.

The tests multiply small matrices: two BLAS threads gain little on an idle 2-core machine and
lose several-fold when the other core is busy (README, "BLAS threads"); one keeps timing steady.
"""

import matplotlib
import pytest
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield
