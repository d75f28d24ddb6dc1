"""Window errors shared by the threshold tests."""

import numpy as np
import pytest


@pytest.fixture
def labelled_errors() -> tuple[np.ndarray, np.ndarray]:
    """3000 gamma errors (n,) and their labels mask (n,): three labelled anomalies of 20 windows, each
    with errors of 0.4 to 0.6 over 10 of them, far above the normal errors (about 0.02)."""
    rng = np.random.default_rng(10)
    errors = rng.gamma(2.0, 0.01, size=3000)
    labelled = np.zeros(errors.size, dtype=bool)
    for start, peak in ((500, 0.5), (1700, 0.4), (2600, 0.6)):
        labelled[start : start + 20] = True
        errors[start + 5 : start + 15] = peak
    return errors, labelled
