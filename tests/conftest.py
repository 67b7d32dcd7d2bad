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


@pytest.fixture(scope="session")
def quick_results(tmp_path_factory):
    """One quick run of every analysis, as a user would start it: (results folder, stdout, records by name).

    Shared by all analysis tests so the suite runs each analysis once.
    """
    import json
    import subprocess
    import sys
    from pathlib import Path

    from analyses.report import ANALYSES

    out = tmp_path_factory.mktemp("results")
    completed = subprocess.run([sys.executable, "-m", "analyses", "--quick", "--seed", "3", "--out", str(out)],
                               cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=1200)
    assert completed.returncode == 0, completed.stderr[-3000:]
    records = {name: json.loads((out / name / "result.json").read_text()) for name in ANALYSES}
    return out, completed.stdout, records
