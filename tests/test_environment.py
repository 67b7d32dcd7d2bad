"""The pip set (pyproject.toml) and the conda set (environment.yml) list the same packages at the same versions."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pip_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for group in project["optional-dependencies"].values() for r in group]
    return dict(re.fullmatch(r"([A-Za-z0-9_.-]+)==([^,;\s]+)", r).groups() for r in requirements)


def conda_pins():
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        match = re.fullmatch(r"\s+-\s+([A-Za-z0-9_.-]+)\s*==?\s*([^\s#]+)\s*(#.*)?", line)
        if match and match.group(1) != "python":
            pins[match.group(1)] = match.group(2)
    return pins


def test_every_pip_dependency_is_pinned_exactly_and_matches_conda():
    assert pip_pins() == conda_pins()


def test_arviz_plots_stays_out():
    """arviz 0.x imports arviz_plots when present, and arviz_plots 0.8 fails with matplotlib 3.11 (DESIGN.md)."""
    assert "arviz-plots" not in pip_pins() and "arviz_plots" not in pip_pins()
    import importlib.util

    assert importlib.util.find_spec("arviz_plots") is None
