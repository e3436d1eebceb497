"""droid_planning v3 plans the gripper in DROID's closure (0 open … 1 closed): the generated Franka
clips' opening in metres is converted for the expert actions and the oracle's states, and each
model's controller receives the gripper change in the units it declares (``inputs.gripper``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.data.droid import PANDA_MAX_WIDTH_M, gripper_delta_scale, poses_to_deltas, states_in_closure
from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.inputs import ModelInputs
from lawm_eval.runner.build import build_suite
from lawm_eval.suites.planning import GripperUnitsController


def test_closure_is_droids_one_minus_width_over_max_width():
    states = np.zeros((3, 7))
    states[:, 6] = [0.0, 0.02, PANDA_MAX_WIDTH_M]  # closed, a quarter open, fully open (metres)
    closure = states_in_closure(states, "width_m")
    np.testing.assert_allclose(closure[:, 6], [1.0, 0.75, 0.0])
    np.testing.assert_allclose(closure[:, :6], states[:, :6])  # the pose is untouched
    np.testing.assert_allclose(states_in_closure(closure, "closure"), closure)
    # a change of width dw is a change of closure -dw / 0.08, and back
    assert gripper_delta_scale("width_m", "closure") == pytest.approx(-12.5)
    assert gripper_delta_scale("closure", "width_m") == pytest.approx(-0.08)
    with pytest.raises(ValueError, match="unknown gripper units 'inch'"):
        states_in_closure(states, "inch")


class Recorder:
    needs_states = False

    def __init__(self):
        self.seen: list[torch.Tensor] = []

    def to_latent(self, actions, states):
        self.seen.append(actions.clone())
        return actions


def test_the_controller_receives_the_gripper_change_in_its_own_units():
    inner = Recorder()
    actions = torch.tensor([[[0.01, 0.02, 0.03, 0.0, 0.0, 0.1, 0.5]]])  # (1, 1, 7): closure +0.5
    GripperUnitsController(inner, gripper_delta_scale("closure", "width_m")).to_latent(actions, None)
    expected = actions.clone()
    expected[..., 6] = -0.04  # half the opening closed: the fingers 4 cm nearer
    torch.testing.assert_close(inner.seen[0], expected)
    torch.testing.assert_close(actions[..., 6], torch.tensor([[0.5]]))  # the planner's own tensor is unchanged


def bundle(gripper: str | None) -> ModelBundle:
    recorder = Recorder()
    return ModelBundle("m", encoder=recorder, controller=recorder, world_model=recorder,
                       inputs=ModelInputs(gripper=gripper))


def test_v3_converts_the_generated_clips_and_v2_reads_them_as_recorded(compose):
    v3 = build_suite(compose("suite=droid_planning", "suite.episodes=2"))
    v2 = build_suite(compose("suite=droid_planning", "suite.version=v2", "suite.episodes=2"))
    assert (v3.gripper_units, v2.gripper_units) == ("width_m", None)
    spec = v3.episodes()[0]
    episode = v3.episode_data(spec.params["episode"])
    indices = v3.clip_indices(spec)
    recorded = np.asarray(episode.states)[indices]
    np.testing.assert_allclose(v3.expert_actions(episode, indices), poses_to_deltas(states_in_closure(recorded, "width_m")))
    np.testing.assert_allclose(v2.expert_actions(episode, indices), poses_to_deltas(recorded))
    # the privileged oracle reads the same converted states
    np.testing.assert_allclose(v3.recorded_states(episode, indices, 7)[0].numpy(),
                               states_in_closure(recorded, "width_m"), rtol=1e-6, atol=1e-6)
    # a model trained on the clips' metres gets a converting controller; a DROID-unit one its own
    width_model, droid_model = bundle("width_m"), bundle(None)
    assert isinstance(v3.controller(width_model), GripperUnitsController)
    assert v3.controller(droid_model) is droid_model.controller
    assert v2.controller(width_model) is width_model.controller
    assert "controller receives the gripper change in width_m" in v3.evaluation_contract(width_model)["gripper"]


def test_a_dataset_path_is_read_as_droid_closure_unless_told(compose, tmp_path):
    suite = build_suite(compose("suite=droid_planning", f"suite.dataset={tmp_path}"))
    assert suite.gripper_units == "closure"
    told = build_suite(compose("suite=droid_planning", f"suite.dataset={tmp_path}", "suite.gripper_units=width_m"))
    assert told.gripper_units == "width_m"


def test_unknown_units_are_refused_before_the_first_episode(compose):
    with pytest.raises(ConfigError, match="gripper_units"):
        build_suite(compose("suite=droid_planning", "suite.gripper_units=inches"))
    suite = build_suite(compose("suite=droid_planning", "suite.episodes=2"))
    with pytest.raises(ModelError, match="declares inputs.gripper='openpi'.*closure, width_m"):
        suite.check_inputs(bundle("openpi"))


class SpyDynamics:
    """Encoder, controller and world model in one: the state is the frame's mean colour (3,), the world
    adds the first three latent numbers; records the gripper change every controller call receives."""

    needs_states = False

    def __init__(self):
        self.gripper_seen: list[torch.Tensor] = []

    def encode(self, observations):  # (B,T,3,H,W) -> (B,T,3)
        return observations.float().mean(dim=(-1, -2)) / 255

    def to_latent(self, actions, states):  # (N,H,7) -> (N,H,7)
        self.gripper_seen.append(actions[..., 6].clone())
        return actions

    def rollout(self, context, latents):
        return context[:, -1:] + torch.cumsum(latents[..., :3], dim=1)


def small_cem(suite):
    from lawm_eval.planners.cem import CEMPlanner

    return CEMPlanner(7, **{**suite.manifest.planners["cem"], "num_samples": 20, "num_elites": 4, "iterations": 2})


def test_planning_feeds_the_declared_units_to_the_controller(compose):
    """run_episode itself goes through the converting controller: the model sees −0.08 × the planner's
    closure change, and the cost diagnosis scores the closure-unit expert the same way."""
    suite = build_suite(compose("suite=droid_planning", "suite.episodes=1", "suite.references=[]"))
    spy = SpyDynamics()
    model = ModelBundle("spy", encoder=spy, controller=spy, world_model=spy, inputs=ModelInputs(gripper="width_m"))
    outcome = suite.run_episode(suite.episodes()[0], model, small_cem(suite))
    planned = torch.tensor(outcome.info["planned_actions"], dtype=torch.float32)[:, 6]  # (H,) closure
    expert = torch.tensor(outcome.info["expert_actions"], dtype=torch.float32)[:, 6]
    diagnosis = spy.gripper_seen[-1]  # (3, H): the plan, the expert and the zero plan, as the model got them
    torch.testing.assert_close(diagnosis[0], -0.08 * planned)
    torch.testing.assert_close(diagnosis[1], -0.08 * expert)
    # a DROID-unit model gets the planner's numbers unchanged
    droid = SpyDynamics()
    suite.run_episode(suite.episodes()[0], ModelBundle("droid", encoder=droid, controller=droid, world_model=droid),
                      small_cem(suite))
    assert droid.gripper_seen[-1].abs().max() <= 0.75 and droid.gripper_seen[-1].abs().max() > 0.01


def test_recorded_actions_and_states_agree_in_closure_units(compose):
    """actions=recorded scales the recorded gripper change by −1/0.08, so it equals the one derived from
    the converted states; the true-dynamics oracle reading converted states plans the gripper exactly."""
    from_state = build_suite(compose("suite=droid_planning", "suite.episodes=2"))
    recorded = build_suite(compose("suite=droid_planning", "suite.episodes=2", "suite.actions=recorded"))
    spec = from_state.episodes()[0]
    episode = from_state.episode_data(spec.params["episode"])
    indices = from_state.clip_indices(spec)
    np.testing.assert_allclose(recorded.expert_actions(episode, indices)[:, 6],
                               from_state.expert_actions(episode, indices)[:, 6], atol=1e-4)
    from lawm_eval.runner.run import run_evaluation

    outcome = run_evaluation(compose("suite=droid_planning", "model=oracle_droid", "suite.observation=state",
                                     "suite.episodes=3", "executor.progress=off"))
    for record in outcome.results.records:
        states = np.asarray(from_state.episode_data(record.info["episode"]).states)[record.info["frames"]]
        closure = states_in_closure(states, "width_m")[:, 6]
        assert record.metrics["delta_gripper"] < 1e-3 and record.metrics["delta_gripper@privileged"] < 1e-3
        expert = np.asarray(record.info["expert_actions"])[:, 6]
        np.testing.assert_allclose(expert.sum(), closure[-1] - closure[0], atol=1e-6)
