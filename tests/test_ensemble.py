"""The ensemble model: one planning cost that is the mean of its members' own costs."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache

import pytest
import torch

from lawm_eval.config import compose_config
from lawm_eval.errors import ConfigError
from lawm_eval.models.ensemble import ensemble
from lawm_eval.rollouts import rollout_actions
from lawm_eval.runner.build import build_model, build_suite
from lawm_eval.suites.planning import MeanSquaredGoalObjective


@cache
def droid_suite():
    return build_suite(compose_config(["suite=droid_planning"]))


@cache
def member(name: str):
    """A model alone, built once per test module (its parts keep no state between calls)."""
    return build_model(compose_config(["suite=droid_planning", f"model={name}"]), droid_suite())


@pytest.fixture(scope="module")
def frames() -> torch.Tensor:  # (1, 2, 64, 64, 3): an observation and a goal
    return torch.randint(0, 256, (1, 2, 64, 64, 3), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)


def cost(bundle, context, goal, actions):
    return MeanSquaredGoalObjective(bundle.world_model, bundle.controller, context, goal)(actions)


def test_the_cost_is_the_mean_of_the_members_costs(frames):
    torch.manual_seed(0)
    members = ["lam_noisy", "lam_noisy_history"]
    bundle = ensemble(droid_suite(), members=members)
    actions = torch.randn(5, 3, 7) * 0.1  # (N, H, A)
    states = bundle.encoder.encode(frames)  # (1, 2, K, 16, 32)
    assert states.shape == (1, 2, 2, 16, 32)
    together = cost(bundle, states[:, :1], states[:, 1], actions)
    alone = []
    for name in members:
        single = member(name)
        encoded = single.encoder.encode(frames)
        alone.append(cost(single, encoded[:, :1], encoded[:, 1], actions))
    assert torch.allclose(together, (alone[0] + alone[1]) / 2, rtol=1e-5, atol=1e-7)
    assert not torch.allclose(alone[0], alone[1])  # two different members, so the mean is no copy of one


def test_each_member_predicts_as_it_would_alone_stepped_or_rolled_out(frames):
    """lac_wm rolls out in one call (its controller reads the actions only), lam_noisy steps (its controller
    reads the state): in one ensemble each keeps its own path, so the cost is still the mean of their own costs."""
    members = ["lac_wm", "lam_noisy"]
    bundle = ensemble(droid_suite(), members=members)
    states = bundle.encoder.encode(frames)  # (1, 2, 2, 16, 32)
    actions = torch.randn(4, 3, 7, generator=torch.Generator().manual_seed(1)) * 0.1  # (N, H, A)
    predicted = rollout_actions(bundle.world_model, bundle.controller, states[:, :1].expand(4, -1, -1, -1, -1),
                                actions)  # (4, 3, 2, 16, 32)
    alone = []
    for k, name in enumerate(members):
        single = member(name)
        context = single.encoder.encode(frames)[:, :1].expand(4, -1, -1, -1)
        alone.append(rollout_actions(single.world_model, single.controller, context, actions))
        assert torch.allclose(predicted[:, :, k], alone[-1], atol=1e-6), name
    together = cost(bundle, states[:, :1], states[:, 1], actions)
    own = []
    for name in members:
        encoded = member(name).encoder.encode(frames)  # (1, 2, 16, 32)
        own.append(cost(member(name), encoded[:, :1], encoded[:, 1], actions))
    assert torch.allclose(together, (own[0] + own[1]) / 2, rtol=1e-5, atol=1e-7)


def test_bad_member_lists_are_one_config_error():
    suite = droid_suite()
    with pytest.raises(ConfigError, match="at least 2 members"):
        ensemble(suite, members=["lam_noisy"])
    with pytest.raises(ConfigError, match=r"model.members='lam_noisy': a list"):
        ensemble(suite, members="lam_noisy")
    with pytest.raises(ConfigError, match=r"model.checkpoints='/p.pt': a list"):
        ensemble(suite, members=["lam_noisy", "lam_noisy"], checkpoints="/p.pt")
    with pytest.raises(ConfigError, match="one per member"):
        ensemble(suite, members=["lam_noisy", "lam_noisy"], checkpoints=["a"])
    with pytest.raises(ConfigError, match="'libero_bc' has no encoder, world_model, controller"):
        ensemble(suite, members=["lam_noisy", "libero_bc"])
    with pytest.raises(ConfigError, match="'lam_nav' reads other inputs .*action_dim 7 vs 3"):
        ensemble(suite, members=["lam_noisy", "lam_nav"])


def test_a_second_checkpoint_is_recorded_with_its_hash(tmp_path):
    import shutil

    from lawm_eval.models.zoo import checkpoint_path

    copy = tmp_path / "seed.pt"
    shutil.copy(checkpoint_path("lam_noisy"), copy)
    bundle = ensemble(droid_suite(), members=["lam_noisy", "lam_noisy"], checkpoints=[None, str(copy)])
    described = bundle.info["members"]
    assert [m["checkpoint"] for m in described] == [str(checkpoint_path("lam_noisy")), str(copy)]
    assert described[0]["checkpoint_sha256"] == described[1]["checkpoint_sha256"]
    assert all("tiny re-implementation" in m["provenance"] and m["trained_on"] == "franka" for m in described)
    assert "tiny re-implementation" in bundle.info["provenance"]
    other = ensemble(droid_suite(), members=["lam_noisy", "lam_noisy_history"])
    assert len(bundle.checkpoint_sha256) == 64 and other.checkpoint_sha256 != bundle.checkpoint_sha256


def test_a_suite_that_needs_a_lam_refuses_it_before_the_first_episode(tmp_path):
    """Also before generating the suite's data: a cache with the metric weights but no dataset yet."""
    from lawm_eval.paths import cache_dir

    fresh_cache = tmp_path / "cache"
    fresh_cache.mkdir()
    (fresh_cache / "weights").symlink_to(cache_dir() / "weights")
    run = subprocess.run([sys.executable, "-m", "lawm_eval.cli", "run", "suite=video_prediction", "model=ensemble",
                          f"results_dir={tmp_path}", "run_id=x"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "LAWM_EVAL_CACHE": str(fresh_cache)})
    assert run.returncode == 2, run.stderr
    assert "has no inverse dynamics model" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x" / "episodes.jsonl").exists()
    assert not (fresh_cache / "data").exists()  # nothing generated for a run that cannot start


def test_the_seed_script_prints_a_run_that_plans_with_every_cached_seed(tmp_path, monkeypatch):
    import shlex

    from tests.scripts_loader import load_script

    script = load_script("seed_ensembles")
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path / "a cache"))
    assert script.ensemble_command("lam_noisy").startswith("no cached seed of lam_noisy yet")
    for seed in (1, 2, 10):
        script.seed_path("lam_noisy", seed).parent.mkdir(parents=True, exist_ok=True)
        script.seed_path("lam_noisy", seed).write_bytes(b"")
    words = shlex.split(script.ensemble_command("lam_noisy"))
    config = compose_config(words[words.index("run") + 1 :])
    assert config.model.to_dict()["members"] == ["lam_noisy"] * 4
    assert config.model.to_dict()["checkpoints"] == [None, *(str(script.seed_path("lam_noisy", s)) for s in (1, 2, 10))]
    assert config.suite.name == "droid_planning"
    script.seed_path("lam_nav", 1).parent.mkdir(parents=True, exist_ok=True)
    script.seed_path("lam_nav", 1).write_bytes(b"")
    words = shlex.split(script.ensemble_command("lam_nav"))  # the navigation model plans on RECON
    config = compose_config(words[words.index("run") + 1 :])
    assert config.suite.name == "recon_planning" and config.model.to_dict()["members"] == ["lam_nav"] * 2
    from lawm_eval.models.checkpoint import save_model
    from lawm_eval.models.train.law import CONFIG

    save_model(script.seed_path("law", 1), "law", torch.nn.Linear(1, 1), {**CONFIG, "frame_controller": False})
    with pytest.raises(SystemExit, match="earlier law recipe"):  # a seed of the recipe before its third stage
        script.train_seed("law", 1)
    save_model(script.seed_path("law", 1), "law", torch.nn.Linear(1, 1), dict(CONFIG))
    assert script.train_seed("law", 1) == script.seed_path("law", 1)  # the current recipe's seed is reused


class Shifter:
    """A member whose state is its own scaling of the observation and whose latent width is its own."""

    needs_states = False

    def __init__(self, scale: float, width: int):
        self.scale, self.width = scale, width

    def encode(self, observations):  # (B, T, 2) -> (B, T, 2)
        return observations * self.scale

    def to_latent(self, actions, states):  # (B, H, A) -> (B, H, width)
        return actions[..., :1].repeat(1, 1, self.width) * self.scale

    def rollout(self, context, latent_actions):  # (B, Tc, 2), (B, H, width) -> (B, H, 2)
        assert latent_actions.shape[-1] == self.width
        steps = latent_actions.sum(-1, keepdim=True).cumsum(1)  # (B, H, 1)
        return context[:, -1:] + steps.expand(-1, -1, context.shape[-1])


class Stepper(Shifter):
    """A member whose controller reads the state: it must be stepped, never rolled out."""

    needs_states = True

    def to_latent(self, actions, states):  # (B, 1, A), (B, 1, 2) -> (B, 1, width)
        assert states is not None and states.shape[1] == 1
        return super().to_latent(actions, None) + states[..., :1]

    def step(self, context, latent_actions):  # (B, Tc, 2), (B, 1, width) -> (B, 1, 2)
        return super().rollout(context, latent_actions)

    def rollout(self, context, latent_actions):
        raise AssertionError("a member that needs states is stepped")


def test_members_see_their_own_state_slice_and_take_their_own_path():
    from types import SimpleNamespace

    from lawm_eval.models.ensemble import EnsembleModel

    shifters = [Shifter(1.0, 1), Stepper(3.0, 2)]
    model = EnsembleModel([SimpleNamespace(encoder=s, controller=s, world_model=s) for s in shifters], ["a", "b"])
    observations = torch.tensor([[[1.0, 2.0]]])  # (1, 1, 2)
    context = model.encode(observations)  # (1, 1, K=2, 2)
    assert torch.equal(context[0, 0], torch.tensor([[1.0, 2.0], [3.0, 6.0]]))
    actions = torch.tensor([[[0.5], [1.0]]])  # (1, H=2, 1)
    assert model.needs_states is False and torch.equal(model.to_latent(actions, None), actions)
    predicted = rollout_actions(model, model, context, actions)  # (1, 2, 2, 2)
    for k, s in enumerate(shifters):
        expected = rollout_actions(s, s, s.encode(observations), actions)
        assert torch.equal(predicted[:, :, k], expected)
    assert not torch.equal(predicted[:, :, 1], 3 * predicted[:, :, 0])  # the stepper read its own states


def test_leaderboard_rows_name_an_ensembles_members_and_their_other_checkpoints(tmp_path):
    """Two ensembles in one table are told apart: ``ensemble[a+b]``, a member's non-bundled checkpoint as ``@stem``."""
    import shutil

    from lawm_eval.metrics.aggregate import RunResults, leaderboard_rows
    from lawm_eval.models.zoo import checkpoint_path
    from lawm_eval.types import EpisodeRecord, EpisodeSpec

    copy, retrained = tmp_path / "seed1.pt", tmp_path / "retrained" / "model.pt"
    retrained.parent.mkdir()
    for path in (copy, retrained):
        shutil.copy(checkpoint_path("lam_noisy"), path)
    runs = []
    for run_id, members, checkpoints in (("seeds", ["lam_noisy", "lam_noisy"], [None, str(copy)]),
                                         ("pair", ["lam_noisy", "lam_noisy_history"], None),
                                         ("elsewhere", ["lam_noisy", "lam_noisy"], [None, str(retrained)])):
        info = dict(ensemble(droid_suite(), members=members, checkpoints=checkpoints).info)
        provenance = {"model_id": "ensemble", "origin": info.pop("provenance"), **info}  # as the worker records it
        died = EpisodeRecord(EpisodeSpec("droid_planning", "v3", "plan", 0, 0), model="ensemble", error="worker died")
        record = EpisodeRecord(EpisodeSpec("droid_planning", "v3", "plan", 1, 1), metrics={"delta_xyz": 0.1},
                               model="ensemble", provenance=provenance)
        runs.append(RunResults(run_id, [died, record], 2, {}))  # a record without the members comes first
    assert {row["run_id"]: row["model"] for row in leaderboard_rows(runs)} == {
        "seeds": "ensemble[lam_noisy+lam_noisy@seed1]", "pair": "ensemble[lam_noisy+lam_noisy_history]",
        "elsewhere": "ensemble[lam_noisy+lam_noisy@retrained]"}
