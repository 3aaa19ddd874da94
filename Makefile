# pynest developer commands (GNU make).
#
#   make lab        create/refresh .venv, then open JupyterLab on notebooks/
#   make present    the classroom demo (notebook 11) as an app without code cells (Voila),
#                   on http://127.0.0.1:8866/ (PRESENT_PORT=...; Ctrl-C stops it)
#   make test       ruff, mypy (strict on errors/memory/mmu/kvm), unit and property tests,
#                   then nbval over notebooks/*.ipynb
#   make bench      run every benchmarks/*.py script (figures from one run each)
#   make fuzz       the adversarial L1 for 100,000+ steps, ~9 min (FUZZ_ARGS="--steps N --seed S")
#   make snapshots  regenerate tests/snapshots/baselines/*.json (figure and explorer snapshots)
#                   after an intended change to what users see; prints which files changed
#   make execute NB=notebooks/03_x.ipynb   re-run notebooks in place (outputs + widget state)
#   make html       build site/: every notebook as a static page with its widgets drawn
#   make clean      remove .cache/ and build outputs (keeps .venv)
#   make distclean  clean, and remove .venv too
#
# .venv is (re)installed only when pyproject.toml is newer than the stamp file, so
# repeated runs skip pip entirely.  PYTHON=python3.12 make test picks another interpreter
# for a fresh venv (run `make distclean` first to replace an existing one).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CACHE  := $(CURDIR)/.cache

# pip keeps its user config (index URLs, proxies) and its wheel cache under the caller's
# XDG dirs; remember them before they are redirected below, and give them back to pip.
CALLER_XDG_CONFIG_HOME := $(XDG_CONFIG_HOME)
CALLER_XDG_CACHE_HOME  := $(XDG_CACHE_HOME)
PIP := XDG_CONFIG_HOME='$(CALLER_XDG_CONFIG_HOME)' XDG_CACHE_HOME='$(CALLER_XDG_CACHE_HOME)' \
       $(PY) -m pip

# Keep Jupyter, IPython, matplotlib and npm (jupyter-lsp runs `npm prefix -g` at every lab
# start) out of $HOME: everything they write goes to the git-ignored .cache/ folder.
# Absolute paths, because kernels run with notebooks/ as their working directory.
export JUPYTER_CONFIG_DIR    := $(CACHE)/jupyter/config
export JUPYTER_DATA_DIR      := $(CACHE)/jupyter/data
export JUPYTER_RUNTIME_DIR   := $(CACHE)/jupyter/runtime
export JUPYTER_PLATFORM_DIRS := 1
export IPYTHONDIR            := $(CACHE)/ipython
export MPLCONFIGDIR          := $(CACHE)/matplotlib
export XDG_CONFIG_HOME       := $(CACHE)/xdg-config
export XDG_CACHE_HOME        := $(CACHE)/xdg-cache
export npm_config_cache      := $(CACHE)/npm

NOTEBOOKS := $(wildcard notebooks/*.ipynb)

# Strict output comparison of committed notebook outputs; `make test NBVAL=--nbval-lax`
# only checks that every cell runs.
NBVAL ?= --nbval
NBVAL_FLAGS = $(NBVAL) --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg

LAB_FLAGS := --notebook-dir=notebooks
ifeq ($(shell id -u),0)
LAB_FLAGS += --allow-root
endif
ifneq ($(wildcard notebooks/00_start_here.ipynb),)
LAB_FLAGS += --LabApp.default_url=/lab/tree/00_start_here.ipynb
endif

.PHONY: help lab present test bench fuzz snapshots execute html clean distclean
.DEFAULT_GOAL := help

help:
	@echo "make lab | make test | make html | make present | make bench | make fuzz | make snapshots | make execute NB=... | make clean | make distclean"

$(STAMP): pyproject.toml
	@echo "== installing pynest[lab,test,teach] into $(VENV)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(PIP) install --quiet --upgrade pip
	$(PIP) install -e '.[lab,test,teach]'
	# nbgrader (the teach extra) is here for its command line (tests/teach); its Lab menu,
	# toolbar button, sidebar and server extensions are switched off in this venv so that
	# `make lab` is the students' plain JupyterLab (a teacher turns them back on with
	# `jupyter labextension enable @jupyter/nbgrader` and, for each of the four,
	# `jupyter server extension enable nbgrader.server_extensions.formgrader`)
	$(VENV)/bin/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader
	for ext in formgrader validate_assignment assignment_list course_list; do \
	    $(VENV)/bin/jupyter server extension disable --sys-prefix \
	        nbgrader.server_extensions.$$ext >/dev/null || exit 1; done
	touch $@

lab: $(STAMP)
	mkdir -p notebooks
	$(VENV)/bin/jupyter lab $(LAB_FLAGS)

# Voila runs the notebook in a kernel from the same kernelspec as nbval (the venv's python3),
# with the JUPYTER_* dirs exported above, and shows only outputs and widgets (its default
# strip_sources). It listens on loopback only. Voila has no root check of its own, so unlike
# lab it needs no --allow-root (and has no such option) when uid is 0. MPLBACKEND is
# removed so that the kernel keeps the inline backend, as under nbval. The page is
# voila/templates/pynest-present (found through JUPYTER_PATH): the cell tagged "presenter"
# first, the presenter's keys, nothing fetched from the network.
PRESENT_NB   ?= notebooks/11_classroom_demo.ipynb
PRESENT_PORT ?= 8866
present: $(STAMP)
	cd $(dir $(PRESENT_NB)) && env -u MPLBACKEND JUPYTER_PATH=$(CURDIR)$${JUPYTER_PATH:+:$$JUPYTER_PATH} \
	    $(CURDIR)/$(VENV)/bin/voila --no-browser --Voila.ip=127.0.0.1 --port=$(PRESENT_PORT) \
	    --template=pynest-present $(notdir $(PRESENT_NB))

# pytest exits with 5 when it collects nothing; make treats that as a failure, which is what
# we want for the unit suite.  The nbval run happens only when a notebook exists.
# MPLBACKEND=Agg is for plain-Python tests only: under nbval the kernels must keep the
# inline backend that the notebooks were saved with, so it is removed there.
test: $(STAMP)
	@echo "== ruff check"
	$(PY) -m ruff check .
	@echo "== ruff format --check"
	$(PY) -m ruff format --check .
	@echo "== mypy (strict: pynest/mmu, pynest/kvm; [tool.mypy] in pyproject.toml)"
	$(PY) -m mypy
	@echo "== pytest: unit and property tests"
	MPLBACKEND=Agg $(PY) -m pytest --durations=12 --basetemp=$(CACHE)/pytest-unit tests
ifneq ($(NOTEBOOKS),)
	@echo "== pytest: nbval over notebooks/"
	env -u MPLBACKEND $(PY) -m pytest $(NBVAL_FLAGS) --basetemp=$(CACHE)/pytest-nbval notebooks
else
	@echo "== nbval: no notebooks yet"
endif

# Every benchmark script prints its figures from one run; none asserts a timing.
BENCHMARKS := $(filter-out benchmarks/fuzz.py,$(sort $(wildcard benchmarks/*.py)))

bench: $(STAMP)
	@for script in $(BENCHMARKS); do \
	    echo "== $$script"; MPLBACKEND=Agg $(PY) $$script || exit 1; done

# The adversarial L1 state machine (tests/adversarial/adversarial_machine.py), seeded, for
# at least 100,000 steps (a new world every 200): prints steps and rounds, worlds, rules,
# hcalls by name and return code, invariant checks by invariant, the footprint checked,
# L0's resources before/after each run, failures (known ones name their xfail test).
FUZZ_ARGS ?=
fuzz: $(STAMP)
	MPLBACKEND=Agg $(PY) benchmarks/fuzz.py $(FUZZ_ARGS)

# The structural snapshots of every figure function and explorer state (issue 14 step 0;
# tests/snapshots/record.py): rewrites the baselines from today's code and lists the files
# that changed, were added or were removed. Review them with `git diff` before committing.
snapshots: $(STAMP)
	MPLBACKEND=Agg $(PY) tests/snapshots/record.py

# The static classroom site from the committed notebooks' outputs and widget state
# (tools/build_site.py; SITE_ARGS=--working-tree builds the files on disk); it stops, naming
# the notebook, if a widget output has no saved state; explorers with a short step slider
# are recorded at each step (SITE_ARGS=--no-steps: not). The widget renderer, its icon
# fonts and require.js come from npm once, into .cache/site-js.
SITE_ARGS ?=
html: $(STAMP)
	$(PY) tools/build_site.py --out site --js $(CACHE)/site-js $(SITE_ARGS)
	@echo "open site/index.html in a browser"

# Re-execute notebooks in place, in the kernel environment nbval uses (exercise progress
# off, as in the tests: nothing of yours gets stored), storing outputs and widget state
# (nbclient's default): how a notebook's stored outputs are made.
NB ?= $(NOTEBOOKS)
execute: $(STAMP)
	cd notebooks && for nb in $(patsubst notebooks/%,%,$(NB)); do \
	    echo "== executing $$nb"; \
	    env -u MPLBACKEND PYNEST_PROGRESS=off ../$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	        --ExecutePreprocessor.timeout=120 "$$nb" || exit 1; done

clean:
	rm -rf .cache build dist site *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
