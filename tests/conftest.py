import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


def named_rng(name):
    """A generator seeded from a name, so every test draws its own reproducible data."""
    return np.random.default_rng(sum(map(ord, name)))


@pytest.fixture
def rng(request):
    return named_rng(request.node.name)


@pytest.fixture
def prml_data():
    """PRML section 1.1: x ~ U(0, 1), t = sin(2 pi x) + N(0, 0.3^2), N = 15."""
    generator = named_rng("prml_data")
    x = generator.uniform(0, 1, 15)
    return x, np.sin(2 * np.pi * x) + 0.3 * generator.normal(size=15)
