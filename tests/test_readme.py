"""README.md stays true: its figures and the notebooks it names exist, and the options it lists are the CLI's."""

import re
from pathlib import Path

from analyses.report import parse_args

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_figures_and_notebooks_named_in_the_readme_exist():
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert figures and all((ROOT / path).is_file() for path in figures), figures
    named = set(re.findall(r"`(\d\d_\w+\.py)`", README))
    assert named == {path.name for path in (ROOT / "notebooks").glob("*.py")}


def test_the_options_the_readme_lists_are_the_command_lines():
    listed = {option for span in re.findall(r"`([^`]+)`", README) for option in re.findall(r"(?<![\w-])--[a-z-]+", span)}
    parser_options = {option for option in vars(parse_args([], "x")) if option not in ("argv", "progressbar")}
    assert {option[2:].replace("-", "_") for option in listed} == parser_options
