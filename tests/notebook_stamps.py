"""What a stored notebook was executed with, so that stale outputs are caught.

The notebooks are stored executed, and the book is built from those stored outputs (it does not
execute anything). ``make execute`` therefore stamps each notebook it runs with a fingerprint of
what produced its outputs: its own code cells, the package's source files (for a chapter
without ``normreg.bench``, which only the appendix imports), and, for the appendix, the
benchmark results it reads. ``tests/test_book.py`` checks every stamp against the
current files, so a change in the package or a cell that was not followed by ``make execute``
fails ``make test`` instead of leaving the book showing outputs that the code no longer
produces. (nbval then checks that the outputs reproduce.)

Usage: ``python tests/notebook_stamps.py stamp NB...`` (``make execute`` runs it) or
``python tests/notebook_stamps.py check NB...`` (exit status 1 on a stale notebook).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
KEY = "normreg"


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def fingerprint(path: Path) -> dict[str, str]:
    """The digests of what a fresh execution of the notebook at ``path`` would depend on."""
    nb = nbformat.read(path, as_version=4)
    # (the set-up cell of tests/setup_cells.py changes no output: it is left out)
    code = [cell.source.encode() for cell in nb.cells if cell.cell_type == "code"
            and "normreg-setup" not in cell.metadata.get("tags", [])]
    appendix = path.resolve() == (ROOT / "book" / "speed.ipynb").resolve()
    package = sorted(p for p in (ROOT / "src" / "normreg").rglob("*.py")
                     if appendix or "bench" not in p.relative_to(ROOT / "src").parts)
    inputs = {"code": _digest(code),
              "package": _digest([p.relative_to(ROOT).as_posix().encode() + p.read_bytes()
                                  for p in package])}
    if appendix:  # the only page that reads the benchmarks (the chapters do not import them)
        inputs["bench results"] = _digest([(ROOT / "book" / "bench" / "results.json").read_bytes()])
    return inputs


def stamp(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.metadata[KEY] = {"executed_with": fingerprint(path)}
    nbformat.write(nb, path)


def stale(path: Path) -> list[str]:
    """What changed since ``path`` was executed (empty: its outputs are current)."""
    recorded = nbformat.read(path, as_version=4).metadata.get(KEY, {}).get("executed_with")
    if recorded is None:
        return ["it carries no stamp of its execution"]
    return [f"{what} changed" for what, digest in fingerprint(path).items()
            if recorded.get(what) != digest]


if __name__ == "__main__":
    command, paths = sys.argv[1], [Path(p) for p in sys.argv[2:]]
    if command == "stamp":
        for path in paths:
            stamp(path)
    elif command == "check":
        problems = {path: stale(path) for path in paths}
        for path, reasons in problems.items():
            if reasons:
                print(f"{path}: stale outputs ({', '.join(reasons)}): run make execute NB={path}")
        sys.exit(1 if any(problems.values()) else 0)
    else:
        sys.exit(f"usage: {sys.argv[0]} stamp|check NOTEBOOK...")
