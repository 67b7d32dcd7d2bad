"""The pinned environment: pip and conda agree, and the Makefile finds a Python 3.12-3.14 by itself."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

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


def test_the_running_environment_is_the_pinned_one():
    """The interpreter is 3.12-3.14 and every pinned package is installed at its pin."""
    import importlib.metadata

    assert (3, 12) <= sys.version_info[:2] <= (3, 14)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.12,<3.15"
    wrong = {name: (pin, importlib.metadata.version(name)) for name, pin in pip_pins().items()
             if name != "jupyterlab" and importlib.metadata.version(name) != pin}
    assert not wrong


def _make_python(tmp_path, path_entries, **variables):
    """``make python`` (the .venv target's interpreter search) with PATH set to ``path_entries`` then /usr/bin:/bin."""
    environment = {"PATH": os.pathsep.join([*map(str, path_entries), "/usr/bin", "/bin"]),
                   "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "no-pyenv")}
    command = ["make", "--no-print-directory", "-C", str(ROOT), "python",
               *(f"{key}={value}" for key, value in variables.items())]
    return subprocess.run(command, env=environment, capture_output=True, text=True)


def _script(folder, name, body):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_skips_a_failing_shim_and_an_old_python(tmp_path):
    """A python3.12 that exists but fails (pyenv's shim) is skipped; a working 3.12+ later in the order is taken."""
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "python3.12", 'echo "pyenv: python3.12: command not found" >&2; exit 127')
    _script(bin_dir, "python3.13", f'exec {sys.executable} "$@"')
    found = _make_python(tmp_path, [bin_dir])
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(bin_dir / "python3.13")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_refuses_a_given_python_that_is_not_3_12_to_3_14(tmp_path):
    old = _script(tmp_path / "bin", "python-old", 'if [ "$1" = --version ]; then echo "Python 3.11.7"; fi; exit 1')
    refused = _make_python(tmp_path, [], PYTHON=old)
    assert refused.returncode != 0
    assert f"PYTHON={old} is not a Python 3.12-3.14" in refused.stderr and "Python 3.11.7" in refused.stderr
    accepted = _make_python(tmp_path, [], PYTHON=sys.executable)
    assert accepted.returncode == 0 and accepted.stdout.strip() == sys.executable


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_finds_pyenv_versions_by_path_and_says_what_it_found_when_none_fits(tmp_path):
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "python3", 'if [ "$1" = --version ]; then echo "Python 3.11.7"; fi; exit 1')
    none = _make_python(tmp_path, [bin_dir])
    if shutil.which("uv", path="/usr/bin:/bin") is None and not any(
            Path(p).exists() for p in ("/usr/bin/python3.12", "/usr/bin/python3.13", "/usr/bin/python3.14")):
        assert none.returncode != 0
        assert "no Python 3.12-3.14 found" in none.stderr and "python3: Python 3.11.7" in none.stderr
        assert "PYTHON=/path/to/python3.12" in none.stderr
    version_dir = tmp_path / "no-pyenv" / "versions" / "3.13.0" / "bin"
    _script(version_dir, "python3", f'exec {sys.executable} "$@"')
    found = _make_python(tmp_path, [bin_dir])
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() in (str(version_dir / "python3"), *(f"/usr/bin/python3.1{m}" for m in (2, 3, 4)))


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_a_venv_of_another_interpreter_is_rebuilt(tmp_path):
    """.venv is rebuilt when its python is not 3.12-3.14 (e.g. one made by Debian's 3.11), kept when it is."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)

    def plan(reports_supported):
        _script(tmp_path / ".venv" / "bin", "python", f"echo {int(reports_supported)}")
        (tmp_path / ".venv").touch()
        return subprocess.run(["make", "--no-print-directory", "-n", ".venv"], cwd=tmp_path, capture_output=True,
                              text=True).stdout

    assert "-m venv .venv" in plan(reports_supported=False)
    assert "-m venv" not in plan(reports_supported=True)
