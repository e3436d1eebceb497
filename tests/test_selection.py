"""World-model-guided selection over VLA samples (LAC-WM §4.4): the top-k closest candidates are
averaged, VLA-mean and VLA-random never query the model, and all N candidates go through one batched
world-model call per predicted step, with actions grouped into 5-step chunks."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.errors import ConfigError
from lawm_eval.planners.selection import FinalEmbeddingDistance, SampleSelectionPlanner


def test_top_k_averaging_picks_the_closest_k():
    generator = torch.Generator().manual_seed(0)
    candidates = torch.randn(8, 10, 3, generator=generator)  # (N, p, A)
    costs = torch.tensor([5.0, 0.3, 9.0, 0.1, 4.0, 0.2, 7.0, 3.0])
    planner = SampleSelectionPlanner(3, num_samples=8, horizon=10, top_k=3)
    result = planner.plan(lambda actions: costs.clone(), generator, candidates=candidates)
    assert result.info["chosen"] == [3, 5, 1]
    assert torch.allclose(result.actions, candidates[[1, 3, 5]].mean(0))
    assert result.cost == pytest.approx(0.2)
    one = SampleSelectionPlanner(3, num_samples=8, horizon=10, top_k=1).plan(lambda a: costs.clone(), generator,
                                                                          candidates=candidates)
    assert torch.equal(one.actions, candidates[3])


def test_vla_mean_and_random_do_not_query_the_world_model():
    def never(actions):
        raise AssertionError("the VLA-only baselines must not call the world model")

    candidates = torch.randn(6, 4, 2, generator=torch.Generator().manual_seed(1))
    mean = SampleSelectionPlanner(2, num_samples=6, horizon=4, choose="mean")
    assert torch.allclose(mean.plan(never, torch.Generator(), candidates=candidates).actions, candidates.mean(0))
    random = SampleSelectionPlanner(2, num_samples=6, horizon=4, choose="random")
    picks = {random.plan(never, torch.Generator().manual_seed(s), candidates=candidates).info["chosen"][0]
             for s in range(20)}
    assert len(picks) > 1  # a different sample for a different seed
    again = random.plan(never, torch.Generator().manual_seed(3), candidates=candidates)
    assert torch.equal(again.actions, candidates[again.info["chosen"][0]])


def test_bad_options_and_missing_candidates_are_one_line_errors():
    with pytest.raises(ConfigError, match="top_k"):
        SampleSelectionPlanner(2, num_samples=4, top_k=5)
    with pytest.raises(ConfigError, match="choose"):
        SampleSelectionPlanner(2, choose="best")
    with pytest.raises(ConfigError, match="candidates"):
        SampleSelectionPlanner(2).plan(lambda a: a.sum((1, 2)), torch.Generator())


class CountingWorldModel:
    """next = state + W·chunk; records the batch size of every call."""

    def __init__(self, dim: int, chunk_dim: int):
        self.weight = torch.randn(chunk_dim, dim, generator=torch.Generator().manual_seed(2)) * 0.1
        self.calls: list[int] = []

    def step(self, context, latent):  # (B, Tc, D), (B, 1, chunk*A) -> (B, 1, D)
        self.calls.append(context.shape[0])
        return context[:, -1:] + latent @ self.weight

    def rollout(self, context, latents):
        raise AssertionError("a state-dependent controller rolls out step by step")


class ChunkController:
    needs_states = True

    def to_latent(self, actions, states):
        return actions


def test_all_candidates_in_one_batched_world_model_call_per_chunk_step():
    n, p, a, chunk, dim = 50, 20, 25, 5, 6
    wm = CountingWorldModel(dim, chunk * a)
    context = torch.zeros(1, 1, dim)
    goal = torch.ones(1, dim)
    objective = FinalEmbeddingDistance(wm, ChunkController(), context, goal, chunk)
    actions = torch.randn(n, p, a, generator=torch.Generator().manual_seed(4))
    costs = objective(actions)
    assert wm.calls == [n] * (p // chunk)  # 4 predicted frames, each one call over all 50 candidates
    expected = (actions.reshape(n, p // chunk, chunk * a) @ wm.weight).sum(1) - goal  # closed form
    assert torch.allclose(costs, expected.norm(dim=1), atol=1e-5)
    with pytest.raises(ConfigError, match="multiple of the action chunk"):
        objective(actions[:, :7])


def test_the_baseline_planners_fix_their_choice():
    from lawm_eval.planners.selection import VLAMeanPlanner, VLARandomPlanner

    assert VLAMeanPlanner(2).cfg.choose == "mean" and VLARandomPlanner(2).cfg.choose == "random"
    with pytest.raises(ConfigError, match="always chooses 'mean'"):
        VLAMeanPlanner(2, choose="world_model")


def test_demonstrations_are_kept_by_their_full_key(tmp_path, monkeypatch):
    import numpy as np

    from lawm_eval.suites import bfa_selection

    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    key = bfa_selection.demonstration_key("donut", 300_000, 1, [100, 200, 250], 10, (64, 64))
    assert key != bfa_selection.demonstration_key("donut", 300_000, -1, [100, 200, 250], 10, (64, 64))
    assert bfa_selection.load_demonstration(key) is None
    frames = [np.full((64, 64, 3), i, dtype=np.uint8) for i in range(3)]
    bfa_selection.save_demonstration(key, (301_000, [100, 200, 250], frames, True))
    seed, steps, loaded, success = bfa_selection.load_demonstration(key)
    assert (seed, steps, success) == (301_000, [100, 200, 250], True)
    assert all(np.array_equal(a, b) for a, b in zip(loaded, frames))
    assert list((tmp_path / "bfa_demonstrations").iterdir()) == [bfa_selection.demonstration_path(key)]


def test_a_chunk_is_five_consecutive_actions_in_time_order():
    """The (N, p/5, 5·A) rows are what the world models were trained on: actions t..t+4 side by side
    (``models/train/data.transitions(stride=5)``), for a controller that takes the whole horizon at once."""

    class Rollout:
        def rollout(self, context, latents):  # one call for the horizon: returns the summed latents
            return latents.cumsum(1)[..., :3]

    class Identity:
        def to_latent(self, actions, states):
            return actions

    actions = torch.arange(2 * 10 * 2, dtype=torch.float32).reshape(2, 10, 2)  # (N, p, A)
    objective = FinalEmbeddingDistance(Rollout(), Identity(), torch.zeros(1, 1, 3), torch.zeros(1, 3), 5)
    chunks = objective.chunked(actions)  # (2, 2, 10)
    assert torch.equal(chunks[0, 0], torch.cat([actions[0, t] for t in range(5)]))
    assert torch.equal(chunks[1, 1], torch.cat([actions[1, t] for t in range(5, 10)]))
    expected = chunks.sum(1)[:, :3].norm(dim=1)
    assert torch.allclose(objective(actions), expected)
