# Build, test and re-execute the course book "Normalization and Regularization in Deep
# Learning". GNU make, Python 3.11 or newer; `make book` also needs npm, and `make test` a
# Chromium (installed with apt-get when missing). The first target you run creates .venv and
# installs requirements.lock into it. README.md lists the prerequisites per platform.
#
#   make book      strict HTML build of the book into _build/html (fails on any warning)
#   make test      everything CI runs: lint, unit tests, nbval, the student's path, book, browser
#   make execute   re-execute the chapter notebooks in place (after a change in src/)
#   make help      all targets

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
BUILD := _build
INSTALLED := $(VENV)/.installed

# The chapter notebooks; `make execute NB=chapters/03_batch_norm.ipynb` re-executes one.
NOTEBOOKS := $(sort $(wildcard chapters/*.ipynb)) book/speed.ipynb
NB ?= $(NOTEBOOKS)

# The book is built from the outputs stored in the notebooks; it executes nothing. Each stored
# notebook carries a stamp of what produced its outputs (its code cells, the package, for the
# appendix the benchmark results): `make execute` writes it, and a notebook whose stamp no
# longer matches the current files stops `make book` and `make test` (tests/notebook_stamps.py).
STAMPS := $(PY) tests/notebook_stamps.py

# Everything that runs notebooks or the book: no tqdm progress bar in stored or compared
# outputs (the package shows one to people running a notebook by hand), and a fixed hash
# seed. Target-specific exports also reach the prerequisites of these targets.
book test execute seeds solutions bench: export NORMREG_PROGRESS := 0
book test execute seeds solutions bench: export PYTHONHASHSEED := 0
# matplotlib's font cache, kept with this checkout's .venv: the shared one in ~/.cache lists the
# fonts of whichever environment wrote it last, and a kernel that finds it stale or broken
# writes "findfont" warnings into the compared outputs
book test execute seeds solutions bench: export MPLCONFIGDIR := $(CURDIR)/$(VENV)/matplotlib

# Kernels that run notebooks must use matplotlib's inline backend: an MPLBACKEND from the
# caller's shell (Agg is common on headless machines and CI) would silently drop every
# figure from the outputs, and nbval would then fail on a missing output. The unit tests
# alone run with Agg.
NB_ENV := env -u MPLBACKEND

# nbval re-runs every notebook (the chapters and the appendix page) and compares its text
# outputs with the stored ones. ONE_THREAD gives each kernel a single thread: the stored outputs
# come from `make execute` with all cores, so one run with one thread checks that they are
# reproducible and do not depend on the thread count.
NBVAL := $(NB_ENV) $(PY) -m pytest --nbval chapters book/speed.ipynb
ONE_THREAD := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# Parallel test processes: one per core (at one thread each, two small kernels side by side
# do twice the work of one kernel with two threads).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BENCH_RESULTS := book/bench/results.json

# The book serves its own JavaScript (MathJax, RequireJS, the ipywidgets HTML manager), so
# that it reads offline: pinned in book/js/package-lock.json, installed with npm from the
# registry and copied into book/_static/vendor, which Sphinx copies into the HTML.
JS_DIR := book/js
VENDOR := book/_static/vendor
VENDOR_STAMP := $(VENDOR)/.installed
WIDGET_FONTS := book/_extra/chapters/@jupyter-widgets/html-manager/dist

# The browser test drives Debian's Chromium (a test tool's own browser download does not
# work offline); installed with apt-get when it is missing.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help install lock book test browser execute seeds student solutions bench lint clean

help:  ## Show this help
	@echo "Targets:"
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## (.*)$$/  make \1\t\2/' | expand -t 18
	@echo "Variables: VENV=$(VENV)  NB=<notebooks for 'make execute'>"

# ---------------------------------------------------------------------------------------
# Environment: .venv with every package pinned (requirements.lock) and this package (editable,
# no deps: the lock has them all).
$(INSTALLED): requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.lock
	$(PY) -m pip install -e . --no-deps
	touch $@

install: $(INSTALLED)  ## Create .venv and install requirements.lock and the package

# requirements.txt names the direct pins; requirements.lock is what they resolve to, every
# package pinned. Regenerate it after changing requirements.txt (then `make install`).
LOCK_VENV := $(BUILD)/lock-venv
lock:  ## Resolve requirements.txt in a fresh venv and write every package to requirements.lock
	rm -rf $(LOCK_VENV) && python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install -r requirements.txt
	{ sed -n '/^#/p' requirements.lock; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; \
	} > requirements.lock.new && mv requirements.lock.new requirements.lock
	rm -rf $(LOCK_VENV)

$(VENDOR_STAMP): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	npm ci --prefix $(JS_DIR) --no-audit --no-fund --ignore-scripts
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/@jupyter-widgets/html-manager/dist
	cp -r $(JS_DIR)/node_modules/mathjax/es5 $(VENDOR)/mathjax
	cp $(JS_DIR)/node_modules/requirejs/require.js $(VENDOR)/require.js
	cp -r $(JS_DIR)/node_modules/@jupyter-widgets/html-manager/dist/. \
	    $(VENDOR)/@jupyter-widgets/html-manager/dist/
	# The widget stylesheet asks for its icon fonts relative to the page, and every page
	# with widgets is in chapters/: html_extra_path puts a copy there.
	rm -rf $(WIDGET_FONTS) && mkdir -p $(WIDGET_FONTS)
	cp $(JS_DIR)/node_modules/@jupyter-widgets/html-manager/dist/*.{woff2,woff,ttf,eot,svg} \
	    $(WIDGET_FONTS)/
	touch $@

$(CHROMIUM):
	$(SUDO) apt-get install -y chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

# ---------------------------------------------------------------------------------------
book: $(INSTALLED) $(VENDOR_STAMP)  ## Strict build of the HTML book into _build/html (from the stored outputs)
	$(STAMPS) check $(NOTEBOOKS)
	$(NB_ENV) $(VENV)/bin/jupyter-book build . --all -W --keep-going --builder html
	@echo "Book: $(BUILD)/html/index.html"

test: $(INSTALLED)  ## Lint, unit tests, nbval (1 thread), the student's path (other seeds, solutions), the book, the browser test
	$(VENV)/bin/ruff check src tests chapters book
	$(VENV)/bin/ruff format --check chapters book
	@# one thread per test process, as for the kernels below: $(JOBS) processes with all of
	@# torch's threads each would oversubscribe the cores, and a thread that waits for another
	@# one descheduled makes torch's parallel operations many times slower (measured: the unit
	@# tests 70-85 s with torch's default threads, 24-33 s with one)
	MPLBACKEND=Agg $(ONE_THREAD) $(PY) -m pytest tests --ignore=tests/browser -m "not slow" -n $(JOBS)
	@echo "nbval, each kernel with one thread ($(JOBS) kernels at a time), against outputs stored from"
	@echo "two threads: the outputs must not depend on the thread count (nor on the machine)"
	@# matplotlib builds its font cache at first use and says so on stderr, which nbval would
	@# count as an unexpected output of whichever kernel gets there first: build it here
	MPLBACKEND=Agg $(PY) -c "import matplotlib.font_manager"
	$(ONE_THREAD) $(NBVAL) -n $(JOBS) --dist loadscope
	@echo "the student's path: the wheel in a fresh venv with its declared dependencies only, every"
	@echo "chapter with plain nbconvert, SEED=1 (then the exercise solutions) and SEED=2, one thread each"
	$(MAKE) student
	$(MAKE) book
	$(MAKE) browser

browser: $(INSTALLED) $(CHROMIUM)  ## Open every page of the built book in headless Chromium and check it
	test -f $(BUILD)/html/index.html || $(MAKE) book
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest tests/browser

# The cell timeout, 240 s, is several times the longest cell; it also bounds how long nbclient can
# wait for a reply it has missed after a cell with widgets (tests/student_path.py, CELL_TIMEOUT).
execute: $(INSTALLED)  ## Re-execute the notebooks in place (outputs and widget state saved, and stamped)
	$(NB_ENV) $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=240 \
	    --ExecutePreprocessor.store_widget_state=True \
	    $(NB)
	$(STAMPS) stamp $(NB)

# The claims must hold for other seeds than the committed one: tests/test_seeds.py re-runs
# each notebook with `SEED = n` in place of its `parameters` cell; an assert that fails fails
# the test. Part of `make test`; this target runs only that step.
SEEDS ?= 1 2
seeds: $(INSTALLED)  ## Re-run every notebook with other seeds (SEEDS="1 2"), checking its asserts
	SEEDS="$(SEEDS)" $(ONE_THREAD) $(NB_ENV) $(PY) -m pytest -m slow tests/test_seeds.py -n $(JOBS)

# The student's path (tests/student_path.py): the package's wheel in a fresh virtual environment
# with only its declared dependencies, every chapter executed there with plain `jupyter
# nbconvert --execute` for each seed in STUDENT_SEEDS (SEED = n in place of SEED = 0, so that
# every claim's assert is checked for other seeds), the progress bar on, one thread per kernel;
# the exercise solutions run after the first seed's chapters. Part of `make test`.
STUDENT_SEEDS ?= 1 2
# One notebook more at a time than there are cores: each kernel has one thread, so a third one
# costs little, and when nbclient stalls on a reply it missed (tests/student_path.py,
# CELL_TIMEOUT; in two of four runs of make test here) the cores stay busy with the others
STUDENT_JOBS ?= $(shell echo $$(( $(JOBS) + 1 )))
student: $(INSTALLED)  ## The wheel in a fresh venv, every chapter run there with other seeds and its solutions
	$(PY) tests/student_path.py --seeds $(STUDENT_SEEDS) --jobs $(STUDENT_JOBS)

# The exercise solutions are code in the notebooks' markdown, which nbval does not run (the
# student's path of `make test` runs them); this target runs them alone, in this venv.
solutions: $(INSTALLED)  ## Run every exercise solution after its chapter's code
	$(PY) tests/run_solutions.py $(filter chapters/%,$(NB))

bench: $(INSTALLED)  ## Benchmark the layers and time every notebook (minutes); saves $(BENCH_RESULTS) for the appendix
	$(NB_ENV) $(PY) -m normreg.bench --out $(BENCH_RESULTS) $(BENCH_ARGS)
	@echo "Now re-execute the appendix page that shows them: make execute NB=book/speed.ipynb"

lint: $(INSTALLED)  ## ruff check src tests and the notebooks
	$(VENV)/bin/ruff check src tests chapters book
	$(VENV)/bin/ruff format --check chapters book

clean:  ## Remove _build (the book); keeps .venv
	rm -rf $(BUILD)
