"""Record the golden outcomes the CI checks for the learned LIBERO models (tests/test_libero_learned.py):

    python scripts/libero_goldens.py

- one real libero_object episode of each learned policy (``libero_bc``, ``lawam_libero``; task
  GOLDEN_TASK, trial 0): its success and length, into baselines/<policy>/golden.json under "episode";
- one imagined episode of the same policy and trial (``suite=libero_imagined``, imagined by the bundled
  LIBERO world model, GOLDEN_IMAGINED_STEPS actions): its success, length and the judge's highest score, into
  baselines/libero_judge/golden.json under "imagined_episode".

Run it after retraining libero_bc, lawam_libero, the judge or lawm_libero (their training scripts
rewrite golden.json without these).
"""

from __future__ import annotations

import json
import tempfile

from lawm_eval.config import compose_config
from lawm_eval.paths import data_dir
from lawm_eval.runner.records import RecordStore
from lawm_eval.runner.run import run_evaluation

GOLDEN_TASK = 6  # pick up the butter: both learned policies succeed there, so each golden is a whole episode
LEARNED_POLICIES = ("libero_bc", "lawam_libero")
GOLDEN_IMAGINED_STEPS = 24  # three transitions of the LIBERO world model
GOLDEN_WORLD_MODEL = "lawm_libero"


def real_episode_overrides(policy: str = "libero_bc") -> list[str]:
    return ["suite=libero_object", f"model={policy}", f"suite.tasks=[{GOLDEN_TASK}]", "suite.trials_per_task=1"]


def imagined_episode_overrides() -> list[str]:
    return ["suite=libero_imagined", "model=libero_bc", f"suite.world_model={GOLDEN_WORLD_MODEL}",
            f"suite.tasks=[{GOLDEN_TASK}]", "suite.trials_per_task=1", f"suite.max_steps={GOLDEN_IMAGINED_STEPS}"]


def one_record(overrides: list[str], results: str):
    outcome = run_evaluation(compose_config([*overrides, f"results_dir={results}", "run_id=golden"]))
    (record,) = RecordStore(outcome.run_dir).records.values()
    return record


def add_golden(name: str, key: str, value: dict) -> None:
    path = data_dir("baselines") / name / "golden.json"
    golden = json.loads(path.read_text())
    golden[key] = value
    path.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n")


def main() -> int:
    reals = {}
    for policy in LEARNED_POLICIES:
        with tempfile.TemporaryDirectory() as real_dir:
            reals[policy] = real = one_record(real_episode_overrides(policy), real_dir)
        add_golden(policy, "episode", {"task": GOLDEN_TASK, "trial": 0, "success": bool(real.success),
                                       "steps": int(real.steps)})
    with tempfile.TemporaryDirectory() as imagined_dir:
        imagined = one_record(imagined_episode_overrides(), imagined_dir)
    add_golden("libero_judge", "imagined_episode", {
        "task": GOLDEN_TASK, "trial": 0, "max_steps": GOLDEN_IMAGINED_STEPS, "world_model": GOLDEN_WORLD_MODEL,
        "success": bool(imagined.success),
        "steps": int(imagined.steps), "judge_peak": float(imagined.info["judge_peak"]),
        "judge_final": float(imagined.info["judge_final"])})
    for policy, real in reals.items():
        print(f"real {policy}: success {real.success} in {real.steps} steps")
    print(f"imagined: success {imagined.success}, judge peak {imagined.info['judge_peak']:.4g}, "
          f"last frame {imagined.info['judge_final']:.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
