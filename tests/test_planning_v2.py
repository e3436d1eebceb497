"""droid_planning v2 and recon_planning v2: the manifests' constants, DROID's delta actions from the
recorded states, frame subsampling, the one observed frame, the L2 cost, the clip draw, the
evaluation contract; v1 still loads and runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.catalog import registries, suite_manifest
from lawm_eval.data.droid import frame_step, poses_to_deltas, states_in_closure
from lawm_eval.data.episode import Episode
from lawm_eval.errors import ConfigError
from lawm_eval.runner.build import build_suite
from lawm_eval.runner.run import run_evaluation
from lawm_eval.suites.planning import WAYPOINT_SPACING_M, to_waypoints

SMALL_CEM = ("planner.num_samples=20", "planner.num_elites=4", "planner.iterations=2")


# -- manifests -------------------------------------------------------------------------------------
def test_droid_v3_manifest_pins_the_jepa_wms_constants():
    m = suite_manifest("droid_planning")
    assert m.version == "v3" and registries()["suite"].get("droid_planning").version == "v3"
    p = m.params
    assert p["gripper_units"] == "dataset" and "robot.py:150-151" in m.sources["gripper_units"]
    assert (p["episodes"], p["seed"], p["horizon"], p["context_frames"], p["fps"]) == (64, 1, 3, 1, 4)
    assert (p["actions"], p["sampling"], p["cost"], p["observation"]) == ("from_state", "video_offset", "l2", "image")
    cem = m.planners["cem"]
    assert (cem["num_samples"], cem["num_elites"], cem["iterations"], cem["horizon"]) == (300, 10, 15, 3)
    assert (cem["init_std"], cem["momentum_mean"], cem["momentum_std"]) == (0.1, 0.0, 0.0)
    assert cem["include_mean"] is True and cem["select"] == "mean" and cem["unbiased_std"] is True
    assert cem["action_low"] == [-0.1] * 6 + [-0.75] and cem["action_high"] == [0.1] * 6 + [0.75]
    assert "expert_obses[0]" in m.sources["context_frames"] and "ctxt_window" in m.sources["context_frames"]


def test_recon_v2_manifest_pins_the_nwm_constants_and_units():
    m = suite_manifest("recon_planning")
    p = m.params
    assert m.version == "v2"
    assert (p["episodes"], p["goal_steps"], p["context_frames"], p["repeats"]) == (50, 8, 4, 3)
    assert p["init_mean"] == [-0.1, 0.0, 0.0] and p["action_units"] == "waypoints"
    assert p["action_low"] == [-0.2, -0.4] and p["action_high"] == [0.8, 0.4]
    cem = m.planners["cem"]
    assert (cem["num_samples"], cem["num_elites"], cem["iterations"], cem["init_std"]) == (120, 5, 1, [0.02, 0.1, 0.1])
    assert {"ate", "rpe", "ate_waypoints", "rpe_waypoints"} <= set(m.metrics)
    assert WAYPOINT_SPACING_M == 0.25


def test_v1_manifests_still_load_and_build(compose):
    droid = build_suite(compose("suite=droid_planning", "suite.version=v1"))
    assert droid.version == "v1" and droid.params["context_frames"] == 2 and droid.params["seed"] == 0
    assert (droid.cost, droid.action_source, droid.sampling, droid.frame_step()) == ("norm", "recorded", "windows", 1)
    assert droid.clip_length == 5
    recon = build_suite(compose("suite=recon_planning", "suite.version=v1"))
    assert recon.version == "v1" and recon.action_units == "m" and not recon.waypoint_metrics


def test_recon_v2_bounds_are_waypoints_and_give_v1s_metres(compose):
    v1 = build_suite(compose("suite=recon_planning", "suite.version=v1")).bounds()
    v2 = build_suite(compose("suite=recon_planning")).bounds()
    for a, b in zip(v1, v2):
        assert torch.allclose(a, b)
    nwm = build_suite(compose("suite=recon_planning", "suite.action_low=[-2.5,-4]", "suite.action_high=[5,4]"))
    low, high = nwm.bounds()  # NWM's RECON action statistics, in metres
    assert low.tolist() == [-0.625, -1.0] and high.tolist() == [1.25, 1.0]


# -- DROID delta actions -----------------------------------------------------------------------------
def rotation(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Extrinsic x-y-z Euler angles by hand: R = Rz(yaw) Ry(pitch) Rx(roll)."""
    cr, sr, cp, sp, cy, sy = math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


def test_poses_to_deltas_matches_the_closed_form():
    rng = np.random.default_rng(0)
    states = np.concatenate([rng.normal(0, 0.3, (6, 3)), rng.uniform(-2.5, 2.5, (6, 3)), rng.uniform(0, 1, (6, 1))], 1)
    deltas = poses_to_deltas(states)
    assert deltas.shape == (5, 7)
    np.testing.assert_allclose(deltas[:, :3], states[1:, :3] - states[:-1, :3], atol=1e-12)
    np.testing.assert_allclose(deltas[:, 6], states[1:, 6] - states[:-1, 6], atol=1e-12)
    for t in range(5):  # the Euler angles of the delta are the relative rotation R_{t+1} R_t^T
        relative = rotation(*states[t + 1, 3:6]) @ rotation(*states[t, 3:6]).T
        np.testing.assert_allclose(rotation(*deltas[t, 3:6]), relative, atol=1e-9)
    # a rotation about z alone between two poses with no roll/pitch is the yaw difference, wrapped
    still = np.array([[0, 0, 0, 0, 0, 3.0, 0], [0, 0, 0, 0, 0, -3.0, 0]])
    assert poses_to_deltas(still)[0, 5] == pytest.approx(2 * math.pi - 6.0)


def test_generated_franka_states_give_the_recorded_xyz_actions():
    from lawm_eval.data.formats import open_dataset
    from lawm_eval.data.recipes import resolve_dataset

    episode = open_dataset(resolve_dataset("franka_val")).episode(0)
    deltas = poses_to_deltas(episode.states)
    np.testing.assert_allclose(deltas[:, :3], episode.actions[:-1, :3], atol=1e-6)
    np.testing.assert_allclose(deltas[:, 6], episode.actions[:-1, 6], atol=1e-6)
    np.testing.assert_allclose(deltas[:, 3:6], episode.actions[:-1, 3:6], atol=0.02)  # small turns: ≈ Euler difference


def test_frame_step_is_jepa_wms_ceil():
    assert [frame_step(f, 4) for f in (4, 15, 30, 5, 0)] == [1, 4, 8, 2, 1]


# -- DROID v2 episodes ---------------------------------------------------------------------------------
class Spy:
    """Encoder/controller/world model in one: state = per-frame mean colour (3,); the world adds the
    first three action dims; records the frame counts it encodes."""

    needs_states = False

    def __init__(self):
        self.encoded: list[int] = []

    def encode(self, observations: torch.Tensor) -> torch.Tensor:  # (B,T,3,H,W) -> (B,T,3)
        self.encoded.append(observations.shape[1])
        return observations.float().mean(dim=(-1, -2)) / 255

    def to_latent(self, actions: torch.Tensor, states) -> torch.Tensor:
        return actions[..., :3]

    def step(self, context, latent):
        return context[:, -1:] + latent

    def rollout(self, context: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        return context[:, -1:] + torch.cumsum(latents, dim=1)


def test_droid_v2_observes_one_frame_and_records_the_l2_cost(compose):
    suite = build_suite(compose("suite=droid_planning", "suite.episodes=2", "suite.references=[]"))
    spy = Spy()
    model = ModelBundle("spy", encoder=spy, controller=spy, world_model=spy)
    from lawm_eval.planners.cem import CEMPlanner

    planner = CEMPlanner(7, **{**suite.manifest.planners["cem"], "num_samples": 20, "num_elites": 4, "iterations": 2})
    spec = suite.episodes()[0]
    outcome = suite.run_episode(spec, model, planner)
    assert spy.encoded == [1, 1]  # of the clip's H + 1 = 4 frames: frame 0 observed, frame 3 the goal, encoded apart
    frames = np.asarray(outcome.info["frames"])
    assert frames.tolist() == (spec.params["start"] + np.arange(4)).tolist()
    episode = suite.episode_data(spec.params["episode"])
    closure = states_in_closure(episode.states[frames], "width_m")  # the generated clips' gripper, in DROID's units
    np.testing.assert_allclose(outcome.info["expert_actions"], poses_to_deltas(closure), atol=1e-12)
    # plan_cost: jepa-wms' L2, the mean squared difference of the last predicted state and the goal
    states = spy.encode(torch.from_numpy(episode.frames[frames]).permute(0, 3, 1, 2)[None])
    planned = torch.tensor(outcome.info["planned_actions"], dtype=torch.float32)
    final = states[0, 0] + planned[:, :3].sum(0)
    assert outcome.metrics["plan_cost"] == pytest.approx(float(((final - states[0, -1]) ** 2).mean()), rel=1e-5)
    # the diagnosis: the same cost of the expert actions and of no motion, and how the plan ranks against them
    expert = torch.tensor(outcome.info["expert_actions"], dtype=torch.float32)
    expert_cost = float(((states[0, 0] + expert[:, :3].sum(0) - states[0, -1]) ** 2).mean())
    zero_cost = float(((states[0, 0] - states[0, -1]) ** 2).mean())
    assert outcome.metrics["expert_plan_cost"] == pytest.approx(expert_cost, rel=1e-5, abs=1e-12)
    assert outcome.metrics["zero_plan_cost"] == pytest.approx(zero_cost, rel=1e-5)
    assert outcome.metrics["plan_below_expert"] == float(outcome.metrics["plan_cost"] < expert_cost)
    assert outcome.metrics["expert_below_zero"] == float(expert_cost < zero_cost)


def test_droid_v2_draws_video_then_offset_with_replacement(compose):
    suite = build_suite(compose("suite=droid_planning"))
    specs = suite.episodes()
    generator = torch.Generator().manual_seed(1)  # jepa-wms' two draws per episode from one seeded generator
    lengths = suite.dataset().lengths()
    for spec in specs:
        video = int(torch.randint(0, len(lengths), (1,), generator=generator))
        start = int(torch.randint(0, lengths[video] - 4 + 1, (1,), generator=generator))
        assert (spec.params["episode"], spec.params["start"], spec.params["step"]) == (video, start, 1)
    windows = [(s.params["episode"], s.params["start"]) for s in specs]
    assert len(set(windows)) < len(windows) or len(specs) == 64  # with replacement: repeats are allowed
    assert [s.seed for s in specs[:2]] == [100_000, 100_001]


@pytest.fixture(scope="module")
def droid_15fps(tmp_path_factory):
    """A LeRobot dataset recorded at 15 fps, non-square 24×40 frames, DROID-layout states with turns."""
    from lawm_eval.data.lerobot import write_lerobot

    rng = np.random.default_rng(0)
    episodes = []
    for _ in range(2):
        n = 30
        t = np.linspace(0, 1, n)[:, None]
        states = np.concatenate([0.3 * t * rng.normal(size=(1, 3)), 0.8 * t * rng.normal(size=(1, 3)), t], 1)
        frames = rng.integers(0, 255, (n, 24, 40, 3), dtype=np.uint8)
        actions = np.zeros((n, 7), dtype=np.float32)
        episodes.append(Episode(frames, actions, states.astype(np.float32), task="move", fps=15))
    return write_lerobot(tmp_path_factory.mktemp("droid15") / "ds", episodes, fps=15, image_key="exterior")


def test_droid_v2_reads_a_15_fps_recording_every_4th_frame(compose, droid_15fps):
    outcome = run_evaluation(compose("suite=droid_planning", f"suite.dataset={droid_15fps}", "suite.episodes=3",
                                     "model=lac_wm", *SMALL_CEM, "executor.progress=off"))
    records = outcome.results.records
    assert records and not [r.error for r in records if r.error]
    suite = build_suite(compose("suite=droid_planning", f"suite.dataset={droid_15fps}"))
    for record in records:
        frames = np.asarray(record.info["frames"])
        assert (np.diff(frames) == 4).all() and len(frames) == 4
        states = suite.episode_data(record.info["episode"]).states.astype(np.float64)
        expert = np.asarray(record.info["expert_actions"])
        np.testing.assert_allclose(expert[:, :3].sum(0), states[frames[-1], :3] - states[frames[0], :3], atol=1e-6)
        assert record.metrics["delta_xyz@zero"] == pytest.approx(np.abs(expert[:, :3].sum(0)).sum())
    contract = records[0].contract
    assert contract["context_frames"] == 1 and contract["frame_step"] == 4 and contract["fps"] == 4
    assert contract["recorded_resolution"] == [24, 40] and contract["resolution"] == [64, 64]
    assert contract["ground_truth_actions"] is False and contract["privileged_state"] is False
    assert contract["goal"].startswith("the recorded clip's last frame, encoded")
    deviations = records[0].deviations  # computed from the dataset, not the generated-data text
    assert any(d.startswith("data: LeRobot") for d in deviations) and not any("generated" in d for d in deviations)


def test_droid_recorded_actions_at_another_rate_are_refused(compose, droid_15fps):
    suite = build_suite(compose("suite=droid_planning", f"suite.dataset={droid_15fps}", "suite.actions=recorded"))
    with pytest.raises(ConfigError, match="suite.actions=recorded needs the dataset at suite.fps=4"):
        suite.episodes()


def test_droid_windows_sampling_reads_every_4th_frame_too(compose, droid_15fps):
    suite = build_suite(compose("suite=droid_planning", f"suite.dataset={droid_15fps}", "suite.sampling=windows",
                                "suite.episodes=8"))
    for spec in suite.episodes():  # every window spans 3 * 4 + 1 recorded frames of the 30
        assert spec.params["step"] == 4 and 0 <= spec.params["start"] <= 30 - 13


def test_droid_v3_runs_end_to_end_with_a_bundled_model(compose):
    outcome = run_evaluation(compose("suite=droid_planning", "model=law", "suite.episodes=2", *SMALL_CEM,
                                     "executor.progress=off"))
    records = outcome.results.records
    assert len(records) == 2 and not [r.error for r in records if r.error]
    suite = build_suite(compose("suite=droid_planning"))
    for record in records:
        assert record.version == "v3" and len(record.info["frames"]) == 4
        assert "controller receives the gripper change in width_m" in record.contract["gripper"]
        assert {"delta_xyz", "plan_cost", "delta_xyz@zero", "delta_xyz@privileged"} <= set(record.metrics)
        assert record.contract["context_frames"] == 1 and record.contract["ground_truth_actions"] is False
        # the zero plan's Δxyz is the recorded displacement from the observed frame to the goal frame
        states = suite.episode_data(record.info["episode"]).states.astype(np.float64)
        first, last = record.info["frames"][0], record.info["frames"][-1]
        assert record.metrics["delta_xyz@zero"] == pytest.approx(np.abs(states[last, :3] - states[first, :3]).sum(),
                                                                 abs=1e-6)


def test_droid_v1_still_runs(compose):
    outcome = run_evaluation(compose("suite=droid_planning", "suite.version=v1", "model=law", "suite.episodes=1",
                                     *SMALL_CEM, "executor.progress=off"))
    (record,) = outcome.results.records
    assert record.error is None and record.version == "v1" and len(record.info["frames"]) == 5
    assert record.contract["context_frames"] == 2


# -- RECON units ---------------------------------------------------------------------------------------
def test_waypoint_unit_is_a_quarter_metre():
    assert to_waypoints(0.25) == 1.0 and to_waypoints(1.13 * 0.25) == pytest.approx(1.13)


def test_recon_v2_records_metres_and_waypoints(compose):
    outcome = run_evaluation(compose("suite=recon_planning", "model=oracle_nav", "suite.observation=state",
                                     "suite.episodes=3", "executor.progress=off"))
    for record in outcome.results.records:
        m = record.metrics
        assert m["ate_waypoints"] == pytest.approx(m["ate"] / 0.25) and m["rpe_waypoints"] == pytest.approx(m["rpe"] / 0.25)
        assert m["ate_waypoints@zero"] == pytest.approx(m["ate@zero"] / 0.25)
        assert record.contract["privileged_state"] is True and record.contract["observation"] == "state"


class TimeMixingEncoder:
    """Every state is the mean of all frames of the call: an encoder that mixes frames in time."""

    def __init__(self):
        self.calls: list[int] = []

    def encode(self, observations):  # (B,T,3,H,W) -> (B,T,4)
        self.calls.append(observations.shape[1])
        mean = observations.float().mean(dim=(1, 2, 3, 4))  # (B,)
        return mean[:, None, None].expand(-1, observations.shape[1], 4).clone()


def test_context_and_goal_are_encoded_apart(compose):
    """The frames between the context and the goal never reach the encoder; the context never sees the goal."""
    for suite_name in ("droid_planning", "recon_planning"):
        suite = build_suite(compose(f"suite={suite_name}", "suite.episodes=1", "suite.references=[]"))
        encoder = TimeMixingEncoder()
        spec = suite.episodes()[0]
        _, _, context, goal = suite.context_and_goal(spec, ModelBundle("m", encoder=encoder))
        ctx = suite.params["context_frames"]
        assert encoder.calls == [ctx, 1] and context.shape[:2] == (1, ctx) and goal.shape == (1, 4)
