"""Each chapter's set-up cell: present, matching _config.yml, and doing what it says."""

import importlib.abc
import subprocess
import sys

import pytest
import setup_cells


class _Blocked(importlib.abc.MetaPathFinder):
    """Makes ``import normreg`` fail, as in an environment without the package."""

    def find_spec(self, name, path=None, target=None):
        if name == "normreg" or name.startswith("normreg."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


@pytest.fixture
def without_normreg(monkeypatch):
    blocker = _Blocked()
    for name in [n for n in sys.modules if n == "normreg" or n.startswith("normreg.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [blocker, *sys.meta_path])
    return blocker


def test_every_chapter_starts_with_the_set_up_cell_of_the_config():
    assert setup_cells.CHAPTERS
    assert [p for path in setup_cells.CHAPTERS for p in setup_cells.problems(path)] == []


def test_where_normreg_imports_the_cell_does_nothing(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    exec(setup_cells.cell_source("https://example.org/book", "main"), {})
    assert calls == []


def test_without_a_repository_it_says_what_to_do(without_normreg):
    with pytest.raises(ModuleNotFoundError, match=r"names no repository to install it from: "
                                                  r"run `pip install \.`"):
        exec(setup_cells.cell_source("", "main"), {})


def test_with_a_repository_it_installs_from_it_and_imports(without_normreg, monkeypatch):
    calls = []

    def pip(command, check):
        calls.append(command)
        sys.meta_path.remove(without_normreg)  # "installed": the import now succeeds

    monkeypatch.setattr(subprocess, "run", pip)
    namespace = {}
    exec(setup_cells.cell_source("https://github.com/owner/book", "main"),
         namespace)
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet",
                      "git+https://github.com/owner/book@main"]]
    assert namespace["normreg"].__name__ == "normreg"
