"""The GitHub Actions workflow runs what `make test` runs.

GitHub's runners cannot be reached from where this book is developed, so the workflow itself is
never run here; this test keeps it from drifting away from the Makefile: every step of `make
test` has its counterpart in the workflow, and the notebook job waits for the fast one.
"""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_the_workflow_runs_every_step_of_make_test():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    fast, notebooks = _runs(jobs["fast"]), _runs(jobs["notebooks"])
    recipe = (ROOT / "Makefile").read_text().split("\ntest:")[1].split("\n\n")[0]
    # Each step of the recipe and the command in the workflow that stands for it.
    steps = {
        "$(VENV)/bin/ruff check": (fast, "make lint"),
        "$(VENV)/bin/ruff format --check": (fast, "make lint"),
        "-m pytest tests --ignore=tests/browser": (fast, "-m pytest tests --ignore=tests/browser"),
        "import matplotlib.font_manager": (notebooks, "import matplotlib.font_manager"),
        "$(NBVAL)": (notebooks, "pytest --nbval chapters book/speed.ipynb"),
        "$(MAKE) student": (notebooks, "make student"),
        "$(MAKE) book": (notebooks, "make book"),
        "$(MAKE) browser": (notebooks, "make browser"),
    }
    for in_recipe, (job, in_workflow) in steps.items():
        assert in_recipe in recipe, f"`make test` no longer runs {in_recipe!r}: update this table"
        assert in_workflow in job, f"the workflow does not run {in_workflow!r} ({in_recipe})"
    commands = [line.strip() for line in recipe.splitlines()[1:]
                if line.strip() and not line.strip().startswith(("@echo", "@#"))]
    assert len(commands) == len(steps), (
        f"`make test` has {len(commands)} commands, the table above {len(steps)}: a new step "
        "needs its counterpart in .github/workflows/book.yml")
    assert jobs["notebooks"].get("needs") == "fast"
