"""VP² RoboDesk on the real simulator (the ``robodesk`` simulator environment): the shipped start/goal
pairs regenerate bit for bit, each predicate fires on its scripted success and not on the start state,
``reset_to`` restores a state exactly, and short planning episodes run end to end, with a model
(copy_last: the planner's model query path) and with the privileged simulator dynamics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lawm_eval.envs.robodesk_tasks import TASKS, success

pytestmark = [pytest.mark.sim, pytest.mark.slow, pytest.mark.simenv("robodesk")]


@pytest.fixture(scope="module")
def process():
    from lawm_eval.data.generate.robodesk import start_process

    with start_process() as proc:
        yield proc


@pytest.fixture(scope="module")
def pairs():
    from lawm_eval.data.generate.robodesk import default_pairs_path
    from lawm_eval.suites.vp2_robodesk import load_pairs

    return load_pairs(default_pairs_path())


def test_shipped_pairs_regenerate_bit_for_bit_and_predicates_fire(process, pairs):
    from lawm_eval.data.generate.robodesk import pair_from_rollout, scripted_steps

    assert [str(t) for t in pairs["tasks"]] == list(TASKS)
    assert pairs["start_states"].shape == (len(TASKS), 30, 76)
    noise = float(pairs["noise"])
    for k, task in enumerate(TASKS):
        process.call("open", task=task)
        out = process.call("scripted_episode", seed=int(pairs["seeds"][k, 0]), steps=scripted_steps(task), noise=noise,
                           render=False)
        start, goal = pair_from_rollout(task, out["states"])
        assert np.array_equal(start, pairs["start_states"][k, 0]), task
        assert np.array_equal(goal, pairs["goal_states"][k, 0]), task
        # the predicate fires on the scripted success and on no start state of the task
        assert success(task, goal)
        assert not any(success(task, s) for s in pairs["start_states"][k])
        assert all(success(task, s) for s in pairs["goal_states"][k])


def test_reset_to_restores_the_state_and_the_image(process, pairs):
    process.call("open", task="open_slide")
    start = pairs["start_states"][TASKS.index("open_slide"), 0]
    process.call("reset_to", state=start)
    restored = process.call("get_state")
    assert np.array_equal(restored[:73], start[:73])
    first = process.call("step", action=[0.3, -0.2, 0.1, 0.0, 1.0], render=True)
    process.call("reset_to", state=start)
    again = process.call("step", action=[0.3, -0.2, 0.1, 0.0, 1.0], render=True)
    assert np.array_equal(first["state"], again["state"]) and np.array_equal(first["image"], again["image"])
    assert first["image"].shape == (64, 64, 3) and first["image"].dtype == np.uint8


def write_random_classifier(cache, task: str) -> None:
    from lawm_eval.models.success_classifier import ClassifierReport, ConvPredictor, save_classifier

    torch.manual_seed(0)
    save_classifier(ConvPredictor(), cache / "vp2_classifiers" / f"{task}.pt", ClassifierReport(0, 0, 0, 0, 0),
                    {"note": "untrained, for the loop test"})


def test_model_planning_episode_gives_the_model_vp2s_query(compose, tmp_path, monkeypatch):
    from lawm_eval.models import success_classifier
    from lawm_eval.runner.run import run_evaluation

    write_random_classifier(tmp_path, "push_red")
    monkeypatch.setattr(success_classifier, "classifier_dir", lambda: tmp_path / "vp2_classifiers")
    outcome = run_evaluation(compose("suite=vp2_robodesk", "model=copy_last", "planner=mppi", "suite.tasks=[push_red]",
                                     "suite.pairs_per_task=1", "suite.seeds=[1]", "suite.max_steps=3",
                                     "planner.num_samples=8", "run_id=model", "save_video=all"))
    records = outcome.results.records
    assert len(records) == 1 and records[0].error is None
    record = records[0]
    assert record.steps == 3 and record.info["states_scored"] == 4  # zero step + t = 0 zeros + 2 planned
    assert record.info["num_samples"] == 8
    assert record.contract["actions_to_model"].startswith("(N, 11, 5)") and not record.contract["privileged_state"]
    assert record.simulator_versions["robodesk"] == "1.0.0"
    assert np.isfinite(record.metrics["plan_cost"])
    video = outcome.run_dir / record.info["video"]  # the episode's frames beside its goal image
    assert video.is_file() and video.stat().st_size > 0


def test_privileged_planner_presses_the_button(compose):
    """The true-dynamics planner (the suite's own simulator, a state cost) presses the red button from the
    first shipped pair within the 15 steps; golden: success at the same state every run."""
    from lawm_eval.runner.run import run_evaluation

    outcome = run_evaluation(compose("suite=vp2_robodesk", "model=robodesk_simulator", "planner=cem",
                                     "suite.tasks=[push_red]", "suite.pairs_per_task=1", "suite.seeds=[1]",
                                     "planner.num_samples=8", "planner.horizon=3", "planner.iterations=1",
                                     "planner.num_elites=3", "run_id=privileged"))
    record = outcome.results.records[0]
    assert record.error is None and record.contract["privileged_state"] is True
    assert record.success is True, record.info


def test_cola_world_runs_adapted_to_robodesk(compose, tmp_path, monkeypatch):
    """``model=cola_world`` on vp2_robodesk plans with its RoboDesk adaptation (adapter + fine-tuned world
    model, RoboDesk autoencoder): one short open_slide episode, the adaptation named in the record."""
    from lawm_eval.models import success_classifier
    from lawm_eval.runner.run import run_evaluation

    write_random_classifier(tmp_path, "open_slide")
    monkeypatch.setattr(success_classifier, "classifier_dir", lambda: tmp_path / "vp2_classifiers")
    outcome = run_evaluation(compose("suite=vp2_robodesk", "model=cola_world", "planner=mppi", "suite.tasks=[open_slide]",
                                     "suite.pairs_per_task=1", "suite.seeds=[1]", "suite.max_steps=2",
                                     "planner.num_samples=8", "run_id=cola"))
    record = outcome.results.records[0]
    assert record.error is None and record.steps == 2 and np.isfinite(record.metrics["plan_cost"])
    assert record.model == "cola_world" and record.provenance["model_id"] == "cola_world_robodesk"
    assert record.provenance["adapted_to"] == "robodesk" and record.provenance["autoencoder"] == "visual_ae_robodesk"


def test_robodesk_dataset_is_a_lerobot_dataset_of_every_task(tmp_path):
    """The world-model data recipe: one short rendered rollout per task, read back through the dataset reader."""
    from lawm_eval.data.formats import open_dataset
    from lawm_eval.data.generate.robodesk import generate_dataset

    generate_dataset(tmp_path / "robodesk", episodes=len(TASKS), seed=0, steps=2, progress=lambda line: None)
    dataset = open_dataset(tmp_path / "robodesk")
    episodes = list(dataset)
    assert [e.task for e in episodes] == list(TASKS)
    first = episodes[0]
    assert first.frames.shape == (3, 64, 64, 3) and first.actions.shape == (3, 5) and first.states.shape == (3, 76)
    assert not first.actions[-1].any() and first.actions[:-1].any()  # the last row has no successor
    assert np.abs(first.actions).max() <= 1.0
    assert any(not np.array_equal(e.frames[0], e.frames[-1]) for e in episodes)  # the scripted actions move things
