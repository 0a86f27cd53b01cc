"""The student's path, as `make test` checks it: the package alone, the chapters run as a
student runs them.

1. Build the package's wheel and install it into a fresh virtual environment with only its
   declared dependencies (``normreg[notebooks]``: what ``pyproject.toml`` declares, resolved
   from the package registry as a student's ``pip`` resolves it, not ``requirements.lock``).
   PyTorch comes first, ``torch==2.13.0`` (the CPU build on this machine's disk; a student's
   Colab has its own).
2. Execute every chapter there with plain ``jupyter nbconvert --execute``, the progress bar on
   (``NORMREG_PROGRESS`` unset, as a student has it), once per seed in ``--seeds``, with
   ``SEED = n`` in place of the committed ``SEED = 0``: so that every claim of the book, an
   ``assert`` each, is checked for other seeds too (a failed assert fails the run). After the
   chapter's own cells, the first seed's run also executes every exercise solution (the code
   in the ``{solution}`` blocks of its markdown), as one more cell each.

Each kernel gets one thread, ``--jobs`` notebooks at a time. Exit status 1 if any notebook
fails, with the end of its error.

Usage: ``python tests/student_path.py [--seeds 1 2] [--jobs 2] [--workdir DIR] [NB ...]``
(``make student``; part of ``make test``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import nbformat
from run_solutions import solution_blocks

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
TORCH = "torch==2.13.0"
# Seconds a cell may run. The longest cell takes 65-70 s here at one thread (chapter 6's grid),
# about 100 s with three kernels sharing two cores. The limit is also how long nbclient (which
# nbconvert runs) can sit waiting for a reply that has already arrived: now and then, after a
# cell that draws widgets, it misses the wake-up and reads the reply only when the wait times
# out (as in jupyter/nbclient#312; here in two of four `make test` runs, after chapter 6's
# widget cell, which then passed after 600 s and 240 s idle).
CELL_TIMEOUT = 240


def run(command: list[str], **kwargs) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def check_wheel(wheel: Path) -> None:
    """The wheel's modules are exactly those of src/normreg (no stale copy, none missing)."""
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist()
                   if name.startswith("normreg/") and name.endswith(".py")}
    source = {path.relative_to(ROOT / "src").as_posix()
              for path in (ROOT / "src" / "normreg").rglob("*.py")}
    if shipped != source:
        raise SystemExit(f"{wheel.name} does not match src/normreg: extra "
                         f"{sorted(shipped - source)}, missing {sorted(source - shipped)}")


def make_environment(workdir: Path) -> Path:
    """A fresh venv with the wheel and its declared dependencies; returns its bin directory."""
    dist, venv = workdir / "dist", workdir / "venv"
    # setuptools builds in ROOT/build and never deletes from it: a module removed from src/
    # would still ship in the wheel. Build from nothing, and check the wheel against src/.
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    shutil.rmtree(dist, ignore_errors=True)
    run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--quiet", "-w", str(dist)])
    (wheel,) = dist.glob("normreg-*.whl")
    check_wheel(wheel)
    run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]
    run(pip + [TORCH])
    run(pip + [f"{wheel}[notebooks]"])
    return venv / "bin"


def prepared(chapter: Path, seed: int, solutions: bool, folder: Path) -> Path:
    """A copy of ``chapter`` with ``SEED = seed`` (and its solutions appended as code cells)."""
    nb = nbformat.read(chapter, as_version=4)
    (parameters,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    parameters.source, count = re.subn(r"^SEED = 0$", f"SEED = {seed}", parameters.source,
                                       flags=re.M)
    if count != 1:
        raise ValueError(f"{chapter.name}: its parameters cell has no line `SEED = 0`")
    if solutions:
        for block in (b for c in nb.cells if c.cell_type == "markdown"
                      for b in solution_blocks(c.source)):
            nb.cells.append(nbformat.v4.new_code_cell(block))
    path = folder / f"{chapter.stem}-seed{seed}.ipynb"
    nbformat.write(nb, path)
    return path


def stored_seconds(chapter: Path) -> float:
    """How long the stored execution of ``chapter`` took, from its cells' timestamps."""
    stamps = [value for cell in nbformat.read(chapter, as_version=4).cells
              for key, value in cell.metadata.get("execution", {}).items()
              if key in ("iopub.execute_input", "shell.execute_reply")]
    if not stamps:
        return 0.0
    first, last = (datetime.fromisoformat(t.replace("Z", "+00:00"))
                   for t in (min(stamps), max(stamps)))
    return (last - first).total_seconds()


def execute(bin_dir: Path, path: Path) -> tuple[Path, bool, float, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NORMREG_PROGRESS", "MPLBACKEND")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PATH=f"{bin_dir}:{env.get('PATH', '')}")
    start = time.perf_counter()
    result = subprocess.run(
        [str(bin_dir / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
         f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}", "--output", path.stem + "-executed",
         str(path)],
        env=env, cwd=path.parent, capture_output=True, text=True)
    return path, result.returncode == 0, time.perf_counter() - start, result.stderr[-3000:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, default=CHAPTERS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=ROOT / "_build" / "student")
    args = parser.parse_args(argv)

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    bin_dir = make_environment(args.workdir)
    runs = args.workdir / "runs"
    runs.mkdir()
    # the longest first (as long as their stored executions took), so that the last ones to
    # start are short and the kernels finish together
    order = sorted(((seed, chapter) for seed in args.seeds for chapter in args.notebooks),
                   key=lambda case: -stored_seconds(case[1]))
    paths = [prepared(chapter, seed, solutions=(seed == args.seeds[0]), folder=runs)
             for seed, chapter in order]
    failed = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for path, ok, seconds, error in pool.map(lambda p: execute(bin_dir, p), paths):
            print(f"{'ok    ' if ok else 'FAILED'} {path.stem} ({seconds:.0f} s)", flush=True)
            if not ok:
                failed.append((path, error))
    for path, error in failed:
        print(f"\n--- {path.stem} ---\n{error}")
    print(f"\n{len(paths) - len(failed)} of {len(paths)} notebook runs passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
