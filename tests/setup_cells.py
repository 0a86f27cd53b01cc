"""Every chapter's first code cell makes sure that ``normreg`` can be imported.

In a clone of the book after ``make install``, or once the cell has run, it does nothing. In
Colab or any fresh Jupyter it installs the package (not editable, so that the running kernel
can import it at once) from the repository that ``_config.yml`` names (``repository.url`` and
``repository.branch``); with no repository named it stops with a message that says what to do
instead. The cell is tagged ``remove-cell`` (the rendered book does not show it) and
``normreg-setup`` (the stamps of tests/notebook_stamps.py leave it out, since it changes no
output: setting the repository's URL needs no re-execution).

Usage: ``python tests/setup_cells.py write`` puts the cell, as generated from ``_config.yml``,
into every chapter; ``python tests/setup_cells.py check`` (and tests/test_setup_cells.py) fail
when a chapter's cell differs from it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
TAGS = ["remove-cell", "normreg-setup"]

TEMPLATE = '''\
# Set-up, hidden in the book: make sure that the book's package, normreg, can be
# imported. Where it can (a clone of the book after `make install`, or once this
# cell has run), nothing happens; elsewhere (Colab, a fresh Jupyter) it is installed
# from the book's repository.
REPOSITORY, BRANCH = {url}, {branch}  # from the book's _config.yml
try:
    import normreg  # noqa: F401
except ModuleNotFoundError:
    if not REPOSITORY:
        raise ModuleNotFoundError(
            "normreg is not installed, and this copy of the book names no repository "
            "to install it from: run `pip install .` in a clone of the book's "
            "repository (or `make install` there), then restart the kernel"
        ) from None
    import importlib
    import subprocess
    import sys

    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, f"git+{{REPOSITORY}}@{{BRANCH}}"], check=True)
    importlib.invalidate_caches()
    import normreg  # noqa: F401'''


def repository() -> tuple[str, str]:
    """(url, branch) of the book's repository, from _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    section = config.get("repository") or {}
    return (section.get("url") or "").strip(), (section.get("branch") or "main").strip()


def cell_source(url: str, branch: str) -> str:
    """The set-up cell for a repository ``url`` (empty: none) and ``branch``."""
    # json.dumps: a Python string literal in double quotes, as ruff formats the notebooks
    return TEMPLATE.format(url=json.dumps(url), branch=json.dumps(branch))


def expected_source() -> str:
    return cell_source(*repository())


def setup_cells(nb) -> list[int]:
    return [i for i, cell in enumerate(nb.cells)
            if "normreg-setup" in cell.metadata.get("tags", [])]


def write(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_code_cell(expected_source())
    cell.metadata["tags"] = list(TAGS)
    found = setup_cells(nb)
    if found:
        old = nb.cells[found[0]]
        old.source, old.metadata["tags"] = cell.source, list(TAGS)
    else:
        first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first_code, cell)
    nbformat.write(nb, path)


def problems(path: Path) -> list[str]:
    """What is wrong with the set-up cell of the chapter at ``path`` (empty: nothing)."""
    nb = nbformat.read(path, as_version=4)
    found = setup_cells(nb)
    if len(found) != 1:
        return [f"{path.name}: {len(found)} set-up cells, expected 1"]
    out = []
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    cell = nb.cells[found[0]]
    if found[0] != first_code:
        out.append(f"{path.name}: the set-up cell is not the first code cell")
    if cell.source != expected_source():
        out.append(f"{path.name}: the set-up cell differs from _config.yml's repository "
                   f"(run `python tests/setup_cells.py write`)")
    if "remove-cell" not in cell.metadata.get("tags", []):
        out.append(f"{path.name}: the set-up cell is not tagged remove-cell")
    if cell.get("outputs"):
        out.append(f"{path.name}: the set-up cell has outputs")
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["write"]:
        for path in CHAPTERS:
            write(path)
        return 0
    if argv[:1] == ["check"]:
        issues = [p for path in CHAPTERS for p in problems(path)]
        print("\n".join(issues) or "every chapter's set-up cell matches _config.yml")
        return 1 if issues else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
