"""A user's model plugs in without inheriting from lawm-eval's classes."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.bundle import ModelBundle, as_bundle, load_checkpoint
from lawm_eval.errors import CheckpointError, ModelError
from lawm_eval.interfaces import ActionController, Encoder, Planner, WorldModel


class MyWorldModel:  # no lawm-eval base class: the point mass's dynamics, written by hand
    needs_states = False

    def encode(self, observations):
        return observations.float()

    @staticmethod
    def next_state(state, action):  # (B,4) (x, y, vx, vy), (B,2) force -> (B,4); dt 0.1, damping 0.1
        velocity = 0.9 * state[:, 2:] + 0.1 * action.clamp(-1, 1)
        return torch.cat([state[:, :2] + 0.1 * velocity, velocity], dim=1)

    def step(self, context, latent_actions):
        return self.next_state(context[:, -1], latent_actions[:, 0])[:, None]

    def rollout(self, context, latent_actions):
        out, state = [], context[:, -1]
        for t in range(latent_actions.shape[1]):
            state = self.next_state(state, latent_actions[:, t])
            out.append(state)
        return torch.stack(out, 1)

    def to_latent(self, actions, states):
        return actions


def test_structural_protocols():
    model = MyWorldModel()
    assert isinstance(model, Encoder) and isinstance(model, WorldModel) and isinstance(model, ActionController)
    from lawm_eval.planners.cem import CEMPlanner

    assert isinstance(CEMPlanner(2), Planner)


def test_one_object_fills_every_part_it_implements():
    bundle = as_bundle(MyWorldModel(), "mine")
    assert bundle.parts() == ["encoder", "world_model", "controller"]
    bundle.require(["encoder", "world_model", "controller"], "point_mass")
    with pytest.raises(ModelError, match="suite 'libero' needs policy but model 'mine' provides encoder"):
        bundle.require(["policy"], "libero")


def test_a_dict_of_parts_and_bad_returns():
    model = MyWorldModel()
    assert as_bundle({"world_model": model}, "d").world_model is model
    with pytest.raises(ModelError, match="unknown parts: wm"):
        as_bundle({"wm": model}, "d")
    with pytest.raises(ModelError, match="none of the interface methods"):
        as_bundle(object(), "nothing")


def test_a_part_without_its_methods_is_named():
    bundle = ModelBundle("half", world_model=object())
    with pytest.raises(ModelError, match="its world_model does not implement WorldModel"):
        bundle.require(["world_model"], "s")


def test_user_model_plans_the_point_mass_suite(compose):
    from lawm_eval.runner.records import EPISODES_FILE, read_records
    from lawm_eval.runner.run import run_evaluation

    def final_distances(*overrides):
        outcome = run_evaluation(compose("model=custom", "model.factory=test_interfaces:MyWorldModel",
                                         "suite.episodes=3", *overrides))
        records = read_records(outcome.run_dir / EPISODES_FILE)[0]
        assert [r.error for r in records if r.error] == []
        return {r.seed: r.metrics["final_distance"] for r in records}

    planned = final_distances("run_id=user")  # the suite's default planner (CEM) through the user's model
    unplanned = final_distances("planner=random", "run_id=user_random")  # same episodes, no model query
    assert planned.keys() == unplanned.keys() and len(planned) == 3
    for seed, distance in planned.items():
        assert distance < 0.05  # suite.success_radius: the goal is reached
        assert unplanned[seed] > 0.2


def test_checkpoints_load_weights_only(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(2)}, good)
    assert torch.equal(load_checkpoint(good)["w"], torch.ones(2))

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, evil)
    with pytest.raises(CheckpointError, match="cannot load checkpoint"):
        load_checkpoint(evil)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")
