"""The book's structure, read from the stored notebooks and pages (no execution).

Each test guards one property a reader relies on: numbered figures with captions and alt text,
opaque figures (readable in the dark theme), no progress bars in stored outputs, exercises
with collapsed solutions, cross-references between chapters, and citations that resolve.
"""

import base64
import io
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
PAGES = [*CHAPTERS, ROOT / "book" / "speed.ipynb"]
BIB = (ROOT / "book" / "references.bib").read_text()
# The works the lecture names, each of which a chapter must cite.
LECTURE_PAPERS = {"ioffe2015batch", "ba2016layer", "santurkar2018how", "cohen2021gradient",
                  "wang2021tent", "srivastava2014dropout", "zhang2017understanding",
                  "loshchilov2019decoupled"}


def _read(path):
    return nbformat.read(path, as_version=4)


def _markdown(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _pngs(cell):
    for output in cell.get("outputs", []):
        data = output.get("data", {}).get("image/png")
        if data:
            yield Image.open(io.BytesIO(base64.b64decode(data)))


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_every_figure_is_numbered_with_a_caption_and_alt_text(path):
    for i, cell in enumerate(_read(path).cells):
        if cell.cell_type != "code" or not list(_pngs(cell)):
            continue
        mystnb = cell.metadata.get("mystnb", {})
        figure, image = mystnb.get("figure", {}), mystnb.get("image", {})
        where = f"{path.name}, cell {i}"
        assert re.fullmatch(r"fig-[a-z0-9-]+", figure.get("name", "")), f"{where}: no figure name"
        assert len(figure.get("caption", "")) >= 40, f"{where}: no caption"
        assert len(image.get("alt", "")) >= 40, f"{where}: no alt text describing the figure"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_figures_are_opaque(path):
    # A transparent figure turns into black lines on a black page in the dark theme.
    for cell in _read(path).cells:
        for png in _pngs(cell):
            if "A" in png.getbands():
                alpha = np.asarray(png.getchannel("A"))
                assert alpha.min() == 255, f"{path.name}: a figure with a transparent background"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_no_progress_bar_or_warning_in_stored_outputs(path):
    for cell in _read(path).cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                assert output["name"] == "stdout", \
                    f"{path.name}: stderr stored: {output['text'][:80]!r}"
                assert not re.search(r"\d+%\|", output["text"]), f"{path.name}: a progress bar"
            data = output.get("data", {})
            assert "application/vnd.jupyter.widget-view+json" not in data or \
                "IntProgress" not in str(data), f"{path.name}: a progress widget"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_at_least_three_exercises_each_with_a_collapsed_solution(path):
    text = _markdown(_read(path))
    exercises = re.findall(r"\{exercise\}[^\n]*\n:label: (\S+)", text)
    solutions = re.findall(r"\{solution\} (\S+)\n((?::[a-z-]+:[^\n]*\n)*)", text)
    assert len(exercises) >= 3, f"{path.name}: {len(exercises)} exercises"
    collapsed = {label for label, options in solutions if ":class: dropdown" in options}
    assert set(exercises) <= collapsed, f"{path.name}: exercises without a collapsed solution: " \
        f"{set(exercises) - collapsed}"


@pytest.mark.parametrize("path", CHAPTERS[1:], ids=lambda p: p.stem)
def test_chapters_refer_to_earlier_chapters(path):
    text = _markdown(_read(path))
    earlier = [p.stem for p in CHAPTERS if p.stem < path.stem]
    named = re.findall(r"\{doc\}`(?:\.\./chapters/|\./)?(\d\d_[a-z_]+)`", text)
    figures = re.findall(r"\{numref\}`(fig-[a-z0-9-]+)`", text)
    own = {c.metadata.get("mystnb", {}).get("figure", {}).get("name") for c in _read(path).cells}
    assert set(named) & set(earlier) or set(figures) - own or re.search(r"[Cc]hapters? \d", text), \
        f"{path.name} does not refer to any earlier chapter"


def test_every_citation_resolves_and_the_lecture_papers_are_cited():
    keys = set(re.findall(r"^@\w+\{([^,]+),", BIB, flags=re.MULTILINE))
    cited = set()
    for path in [*PAGES, *(ROOT / "book").glob("*.md")]:
        text = _markdown(_read(path)) if path.suffix == ".ipynb" else path.read_text()
        for group in re.findall(r"\{cite:[pt]\}`([^`]+)`", text):
            cited |= {k.strip() for k in group.split(",")}
    assert cited <= keys, f"cited but not in references.bib: {cited - keys}"
    assert cited >= LECTURE_PAPERS, f"lecture papers never cited: {LECTURE_PAPERS - cited}"
    assert keys <= cited, f"in references.bib but never cited: {keys - cited}"


def test_every_widget_has_a_static_slider_in_the_same_chapter():
    for path in CHAPTERS:
        sources = [c.source for c in _read(path).cells if c.cell_type == "code"]
        widgets = sum("widgets.interact" in s for s in sources)
        sliders = sum(bool(re.search(r"^static_slider\(", s, flags=re.MULTILINE)) for s in sources)
        assert sliders >= widgets, f"{path.name}: {widgets} widgets, {sliders} static sliders"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_stored_outputs_come_from_the_current_code(path):
    # The book shows the stored outputs without executing anything (nbval checks that they
    # reproduce); this checks that they were produced by the current code cells and package.
    from notebook_stamps import stale

    reasons = stale(path)
    assert not reasons, (f"{path.name}: stored outputs are stale ({', '.join(reasons)}); run "
                         f"make execute NB={path.relative_to(ROOT)}")
