"""VP² RoboDesk, without the simulator: the predicates on the 76-number state, the objective (executed
action first, VP²'s reward in closed form), VP²'s correlated sampler in CEM/MPPI, the classifier's
architecture, the manifest's constants and the episode list."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lawm_eval.envs import robodesk_tasks as rt
from lawm_eval.models.success_classifier import ConvPredictor
from lawm_eval.planners.cem import CEMPlanner
from lawm_eval.planners.common import correlated_noise
from lawm_eval.planners.mppi import MPPIPlanner
from lawm_eval.suites.vp2_robodesk import VP2Objective


def test_state_layout_and_predicates():
    s = np.zeros(rt.STATE_DIM)
    s[rt.UPRIGHT_XYZ] = [0.3, 0.8, 0.85]
    s[rt.FLAT_XYZ] = [0.3, 0.7, 0.775]
    assert not any(rt.success(task, s) for task in rt.TASKS)
    cases = {"push_red": (23, -0.0046), "push_green": (24, -0.0046), "push_blue": (25, -0.0046),
             "open_slide": (19, 0.56), "open_drawer": (18, -0.21), "upright_block_off_table": (35, 0.59),
             "flat_block_off_table": (42, 0.59)}
    for task, (index, value) in cases.items():
        hit = s.copy()
        hit[index] = value
        fired = [t for t in rt.TASKS if rt.success(t, hit)]
        assert fired == [task], (task, fired)
    edge = s.copy()
    edge[23] = -0.00453  # RoboDesk: strictly below
    assert not rt.success("push_red", edge)


class RecordingModel:
    """A pixel 'world model' whose next frame is the last frame plus the action's mean: records what it got."""

    def __init__(self):
        self.actions: list[torch.Tensor] = []
        self.contexts: list[int] = []
        self.encoder, self.world_model, self.controller, self.decoder = self, self, self, self

    def encode(self, frames):  # (B, T, 3, 64, 64) uint8 -> floats
        return frames.float() / 255.0

    def to_latent(self, actions, states):
        self.actions.append(actions.clone())
        return actions

    def rollout(self, context, latents):
        self.contexts.append(context.shape[1])
        last = context[:, -1:]
        return torch.cat([(last + latents[:, : t + 1].mean((1, 2))[:, None, None, None, None] * 0.1).clamp(0, 1)
                          for t in range(latents.shape[1])], dim=1)

    def step(self, context, latent):
        return self.rollout(context, latent)

    def decode(self, states):
        return states


class SumLogits:
    def logits(self, frames):  # (..., 3, 64, 64) -> (...)
        return frames.mean((-3, -2, -1))


def test_objective_gets_the_executed_action_first_and_scores_as_vp2():
    model = RecordingModel()
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(2)]
    context = model.encode(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)[None])  # (1, 2, 3, 64, 64)
    executed = torch.tensor([[0.3, -0.2, 0.1, 0.0, 0.5]])
    goal = torch.rand(3, 64, 64)
    objective = VP2Objective(model, SumLogits(), context, executed, goal, rgb_weight=0.5, classifier_weight=10.0)
    plans = torch.rand(4, 10, 5) * 2 - 1
    costs = objective(plans)
    # the model saw a_{t-1} first (from [o_{t-1}]), then the 10 planned actions (from [o_{t-1}, o_t])
    assert torch.equal(model.actions[0], executed.expand(4, 1, 5))
    assert torch.equal(model.actions[1], plans)
    assert model.contexts == [1, 2]
    frames_pred = objective.predict(plans)  # (4, 11, 3, 64, 64)
    assert frames_pred.shape == (4, 11, 3, 64, 64)
    reward = -0.5 * ((frames_pred - goal) ** 2).sum((1, 2, 3, 4)) + 10 * frames_pred.mean((2, 3, 4)).sum(1)
    assert torch.allclose(costs, -reward.double(), rtol=1e-6)
    no_classifier = VP2Objective(model, SumLogits(), context, executed, goal, 0.5, 0.0)(plans)
    assert torch.allclose(no_classifier, 0.5 * ((frames_pred - goal) ** 2).sum((1, 2, 3, 4)).double(), rtol=1e-6)


def test_correlated_sampler_is_vp2s():
    std = torch.tensor([[0.5, 0.5, 0.5, 0.1, 0.1]]).expand(10, 5)
    noise = correlated_noise(torch.Generator().manual_seed(3), 6, std, 0.5)
    eps = torch.randn(6, 10, 5, generator=torch.Generator().manual_seed(3))
    expected = [eps[:, 0] * std[0]]
    for t in range(1, 10):
        expected.append(0.5 * expected[-1] + 0.5 * eps[:, t] * std[t])
    assert torch.allclose(noise, torch.stack(expected, 1))
    # the stationary std is σ·sqrt((1 − β)/(1 + β)), not σ (VP² does not renormalise)
    big = correlated_noise(torch.Generator().manual_seed(0), 20000, torch.ones(10, 1), 0.5)
    assert abs(float(big[:, -1].std()) - (1 / 3) ** 0.5) < 0.02
    assert abs(float(big[:, 0].std()) - 1.0) < 0.02


def test_cem_with_vp2_options_uses_the_correlated_sampler_and_returns_the_best_sample():
    target = torch.linspace(-0.5, 0.5, 10)[:, None].expand(10, 5)
    calls = []

    def objective(actions):
        calls.append(actions.clone())
        return ((actions - target) ** 2).flatten(1).sum(1)

    planner = CEMPlanner(5, horizon=10, num_samples=200, num_elites=10, iterations=3, init_std=[0.5, 0.5, 0.5, 0.1, 0.1],
                         beta=0.5, unbiased_std=False, bound_variance=True, select="last_best")
    result = planner.plan(objective, torch.Generator().manual_seed(1))
    last = calls[-1]
    costs = objective(last)
    assert torch.equal(result.actions, last[int(costs.argmin())])  # the best sample of the last iteration
    first = calls[0]
    assert float(first.abs().max()) <= 1.0
    increments = (first[:, 1:] - 0.5 * first[:, :-1])[:, :, 0]  # (1 − β)σε: std 0.25 in dim 0
    assert abs(float(increments.std()) - 0.25) < 0.02


def test_mppi_with_beta_zero_is_unchanged_and_vp2_defaults_are_correlated():
    std = torch.full((10, 5), 0.5)
    plain = MPPIPlanner(5, horizon=10, num_samples=50, beta=0.0, init_std=0.5).correlated_noise(torch.Generator().manual_seed(2))
    eps = torch.randn(50, 10, 5, generator=torch.Generator().manual_seed(2))
    assert torch.equal(plain, eps * std)


def test_classifier_is_vp2s_conv_predictor():
    model = ConvPredictor()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == (
        [(3, 32, (3, 3), (1, 1))] + [(32, 32, (3, 3), (1, 1))] * 6 + [(32, 3, (3, 3), (1, 1))])
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(12288, 1024), (1024, 1)]
    assert model.logits(torch.rand(2, 11, 3, 64, 64)).shape == (2, 11)


def test_manifest_constants_and_episodes():
    from lawm_eval.catalog import suite_manifest

    manifest = suite_manifest("vp2_robodesk")
    p = manifest.params
    assert (p["max_steps"], p["context_frames"], p["rgb_weight"], p["classifier_weight"]) == (15, 2, 0.5, 10.0)
    assert p["task_num_samples"] == {"open_slide": 800, "open_drawer": 800} and p["seeds"] == [1, 2, 3, 4]
    mppi = manifest.planners["mppi"]
    assert (mppi["horizon"], mppi["num_samples"], mppi["iterations"], mppi["gamma"], mppi["beta"]) == (10, 200, 1, 0.05, 0.5)
    assert mppi["init_std"] == [0.5, 0.5, 0.5, 0.1, 0.1]
    cem = manifest.planners["cem"]
    assert (cem["num_samples"], cem["num_elites"], cem["iterations"], cem["select"]) == (200, 10, 3, "last_best")


def test_episode_list_and_per_task_samples():
    from lawm_eval.catalog import suite_manifest
    from lawm_eval.suites.vp2_robodesk import VP2RoboDeskSuite

    suite = VP2RoboDeskSuite(suite_manifest("vp2_robodesk"), {"tasks": ["open_slide", "push_red"],
                                                                 "pairs_per_task": 3, "seeds": [1, 2]})
    specs = suite.episodes()
    assert len(specs) == 2 * 3 * 2 and len({s.key for s in specs}) == len(specs)
    assert [(s.task, s.params["pair"], s.params["vp2_seed"]) for s in specs[:3]] == [
        ("open_slide", 0, 1), ("open_slide", 0, 2), ("open_slide", 1, 1)]
    planner = MPPIPlanner(5, horizon=10, num_samples=200)
    assert suite.planner_for("open_slide", planner).cfg.num_samples == 800
    assert suite.planner_for("push_red", planner) is planner
    assert dataclasses.asdict(suite.planner_for("open_slide", planner).cfg) == {
        **dataclasses.asdict(planner.cfg), "num_samples": 800}
    small = MPPIPlanner(5, horizon=10, num_samples=16)  # a run that sets planner.num_samples keeps it
    assert suite.planner_for("open_slide", small) is small
    cem = suite.planner_for("open_drawer", CEMPlanner(5, horizon=10, num_samples=200, num_elites=10, iterations=3))
    assert (cem.cfg.num_samples, cem.cfg.num_elites) == (800, 40)  # VP²'s elites_frac 0.05


def test_bad_task_names_get_did_you_mean():
    from lawm_eval.catalog import suite_manifest
    from lawm_eval.errors import ConfigError
    from lawm_eval.suites.vp2_robodesk import VP2RoboDeskSuite

    with pytest.raises(ConfigError, match="did you mean 'open_slide'"):
        VP2RoboDeskSuite(suite_manifest("vp2_robodesk"), {"tasks": ["open_slid"]})
    with pytest.raises(ConfigError, match="image_size must be 64"):
        VP2RoboDeskSuite(suite_manifest("vp2_robodesk"), {"image_size": 128})


def test_a_model_predicting_the_wrong_frames_fails_in_one_line():
    from lawm_eval.errors import ModelError

    class Small(RecordingModel):
        def decode(self, states):
            return states[..., :32, :32]  # 32×32 frames

    model = Small()
    context = torch.zeros(1, 2, 3, 64, 64)
    objective = VP2Objective(model, None, context, torch.zeros(1, 5), torch.zeros(3, 64, 64), 0.5, 0.0)
    with pytest.raises(ModelError, match=r"decoder.decode returned \(2, 11, 3, 32, 32\), expected frames of shape \(2, 11, 3, 64, 64\)"):
        objective(torch.zeros(2, 10, 5))


def test_missing_classifier_names_the_build_command(tmp_path, monkeypatch):
    from lawm_eval.errors import CheckpointError
    from lawm_eval.models import success_classifier

    monkeypatch.setattr(success_classifier, "classifier_dir", lambda: tmp_path)
    with pytest.raises(CheckpointError, match="python -m lawm_eval.data.generate.robodesk classifiers --tasks open_slide"):
        success_classifier.load_classifier("open_slide")
    (tmp_path / "open_slide.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be loaded"):
        success_classifier.load_classifier("open_slide")


def test_classifier_training_separates_a_visible_success_and_reports_held_out_precision_recall():
    from lawm_eval.models.success_classifier import evaluate, train_classifier

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 120, (40, 64, 64, 3), dtype=np.uint8)
    labels = (np.arange(40) % 4 == 0).astype(np.uint8)  # rare successes, as in the task data
    frames[labels == 1, 20:44, 20:44] = 255  # a bright square: the 'success'
    held_out = np.arange(40) >= 32
    model, report = train_classifier(frames, labels, held_out, epochs=1, steps_per_epoch=8, batch_size=8, seed=0)
    assert report.held_out == 8 and report.positives == 2
    assert report.precision == 1.0 and report.recall == 1.0
    flipped = evaluate(model, frames[held_out], 1 - labels[held_out])  # the report compares with the labels
    assert flipped.precision == 0.0 and flipped.recall == 0.0


def test_a_pair_is_kept_only_when_the_start_fails_and_a_later_state_succeeds():
    from lawm_eval.data.generate.robodesk import pair_from_rollout

    states = np.zeros((5, rt.STATE_DIM))
    states[:, rt.UPRIGHT_XYZ] = [0.3, 0.8, 0.85]
    states[:, rt.FLAT_XYZ] = [0.3, 0.7, 0.775]
    assert pair_from_rollout("open_slide", states) is None  # never succeeds
    states[2:4, rt.SLIDE] = 0.6  # succeeds at states 2 and 3, not at the end
    start, goal = pair_from_rollout("open_slide", states)
    assert start is states[0] or np.array_equal(start, states[0])
    assert np.array_equal(goal, states[3])  # the last successful state
    states[1, rt.SLIDE] = 0.6
    assert pair_from_rollout("open_slide", states) is None  # solved by the zero step
    states[0, rt.SLIDE] = 0.6
    assert pair_from_rollout("open_slide", states) is None  # already solved at the start
