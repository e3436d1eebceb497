"""The BFA stand-in scene (our MJCF of two Pandas with Allegro hands): its kinematics are the public
models' numbers, the IK reaches commanded poses, detection separates success, lift-only and nothing,
the scripted policy succeeds on a known object, and the dataset generator writes readable LeRobot."""

from __future__ import annotations

import numpy as np
import pytest

from lawm_eval.envs import bfa_objects

pytestmark = [pytest.mark.sim, pytest.mark.extra("bfa")]

# A placement the scripted policy solves with the shipped grasps (scripts/tune_bfa_grasp.py found them).
SOLVED = ("can_0.9", 100_018, 1)  # (object, placement seed, side)


@pytest.fixture(scope="module")
def env():
    from lawm_eval.envs.bfa_env import BFAEnv

    environment = BFAEnv(bfa_objects.find(SOLVED[0]))
    yield environment
    environment.close()


def test_scene_has_the_public_kinematics(env):
    from lawm_eval.envs.bfa_scene import hand_joint_names

    m = env.model
    assert m.nu == 2 * (7 + 16) and m.nq == 2 * (7 + 16) + 7  # two arms, two hands, one free object
    # menagerie wonik_allegro/right_hand.xml: joint ranges and phalanx offsets
    assert np.allclose(m.joint("right_ff1").range, (-0.196, 1.61))
    assert np.allclose(m.joint("right_th0").range, (0.263, 1.396))
    assert np.allclose(m.body("right_ff_link2").pos, (0, 0, 0.054))
    assert np.allclose(m.body("right_th_link3").pos, (0, 0, 0.0514))
    # menagerie franka_emika_panda: link offsets and the fourth joint's range
    assert np.allclose(m.body("right_link3").pos, (0, -0.316, 0))
    assert np.allclose(m.body("right_link5").pos, (-0.0825, 0.384, 0))
    assert np.allclose(m.joint("right_joint4").range, (-3.0718, -0.0698))
    assert len(hand_joint_names("right")) == 16


def test_rotation_6d_round_trip_and_average():
    from lawm_eval.envs.bfa_env import rot6d, rot_from_6d

    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))
    assert np.allclose(rot_from_6d(rot6d(q)), q, atol=1e-9)
    mean = rot_from_6d((rot6d(q) + rot6d(np.eye(3))) / 2)  # an averaged pair is still a rotation
    assert np.allclose(mean.T @ mean, np.eye(3), atol=1e-9) and np.isclose(np.linalg.det(mean), 1.0)


def test_ik_reaches_a_commanded_pose(env):
    from lawm_eval.envs.bfa_env import rot6d
    from lawm_eval.envs.bfa_scripted import SIDE, TOP

    env.reset(0)
    start, _ = env.grip_pose()
    target = start + np.array([0.08, -0.05, -0.1])
    rotation = TOP.rotation(0.5)  # palm down, fingers turned 0.5 rad: far from the ready pose's orientation
    action = np.concatenate([target, rot6d(rotation), SIDE.hand(False)])
    for _ in range(30):
        env.step(action, render=False)
    pos, rot = env.grip_pose()
    assert np.linalg.norm(pos - target) < 0.005
    assert np.linalg.norm(rot - rotation) < 0.05
    assert not env.outcome.contact and not env.outcome.lifted


def _run(env, seed: int, side: int, until: str | None = None):
    from lawm_eval.envs.bfa_scripted import PHASES, SCRIPT_STEPS, ScriptedPickPlace

    env.reset(seed)
    policy = ScriptedPickPlace(env, np.random.default_rng(seed), side=side)
    steps = SCRIPT_STEPS + 15
    if until is not None:  # stop acting at the start of this phase: hold the last action from then on
        steps = sum(n for _, n in PHASES[:[p for p, _ in PHASES].index(until)])
    last = None
    for t in range(SCRIPT_STEPS + 15):
        last = policy(t) if t < steps else last
        env.step(last, render=False)
    return env.outcome.as_dict()


def test_detection_separates_success_lift_and_nothing(env):
    from lawm_eval.envs.bfa_env import rot6d
    from lawm_eval.envs.bfa_scripted import SIDE

    _, seed, side = SOLVED
    assert _run(env, seed, side) == {"contact": True, "lifted": True, "success": True}
    # holding the object up in the hand: lifted for > 1 s, never placed back
    assert _run(env, seed, side, until="carry") == {"contact": True, "lifted": True, "success": False}
    # grasped, but the arm never lifts: contact only
    assert _run(env, seed, side, until="lift") == {"contact": True, "lifted": False, "success": False}
    env.reset(seed)  # the hand stays in the air: nothing
    pos, _ = env.grip_pose()
    idle = np.concatenate([pos, rot6d(SIDE.rotation()), SIDE.hand(False)])
    for _ in range(40):
        env.step(idle, render=False)
    assert env.outcome.as_dict() == {"contact": False, "lifted": False, "success": False}


def test_object_splits_are_versioned_and_disjoint():
    train = bfa_objects.objects("train")
    instances = bfa_objects.objects("unseen_instances")
    categories = bfa_objects.objects("unseen_categories")
    assert bfa_objects.OBJECT_SET_VERSION == "bfa-objects-v1"
    assert len(train) == 3 * 22 and len(instances) == 22 and len(categories) == 3  # LAC-WM §4.4: 22 and 3
    assert {o.category for o in instances} == {o.category for o in train}
    assert not {o.category for o in categories} & {o.category for o in train}
    assert not {o.name for o in instances} & {o.name for o in train}
    train_colours = {(o.category, o.rgba) for o in train}
    assert all((o.category, o.rgba) not in train_colours for o in instances)
    with pytest.raises(Exception, match="did you mean 'unseen_instances'"):
        bfa_objects.objects("unseen_instance")


def test_episode_plan_records_every_object_under_every_noise_and_both_sides():
    from lawm_eval.data.generate.bfa import DATASET_NOISES, episode_plan
    from lawm_eval.data.recipes import RECIPES

    objects_in_split = len(bfa_objects.objects("train"))
    seen: dict[int, set] = {}
    for i in range(RECIPES["bfa"]["episodes"]):  # 5 rounds of the 66 training objects
        index, noise, side = episode_plan(i, objects_in_split)
        seen.setdefault(index, set()).add((noise, side))
    assert sorted(seen) == list(range(objects_in_split))
    for combos in seen.values():  # the old plan tied noise and side to the object (66 = 0 mod 6)
        assert {n for n, _ in combos} == set(DATASET_NOISES) and {s for _, s in combos} == {1, -1}


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    from lawm_eval.data.generate.bfa import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("bfa") / "bfa", episodes=2, seed=SOLVED[1],
                            split="unseen_categories", progress=lambda _: None)


@pytest.mark.extra("data")
def test_dataset_generator_writes_lerobot_with_outcomes(small_dataset):
    from lawm_eval.data.generate.bfa import EPISODE_STEPS
    from lawm_eval.data.lerobot import LeRobotDataset

    data = LeRobotDataset(small_dataset)
    assert len(data) == 2
    episode = data.episode(0)
    assert episode.frames.shape == (EPISODE_STEPS + 1, 64, 64, 3)
    assert episode.actions.shape == (EPISODE_STEPS + 1, 25) and episode.states.shape == (EPISODE_STEPS + 1, 25)
    assert episode.task == "pick up the donut and place it back on the counter"
    assert episode.meta["object"] == "donut" and episode.meta["split"] == "unseen_categories"
    assert set(episode.meta) >= {"contact", "lifted", "success", "seed", "noise"}
    assert np.abs(episode.frames[-1].astype(int) - episode.frames[0].astype(int)).mean() > 1  # the scene moved


@pytest.mark.extra("data")
def test_training_set_candidates_are_recorded_windows_moved_to_the_current_state(small_dataset):
    """App. A.6's candidates: windows of recorded actions, each shifted by (current state − its own state)."""
    import torch

    from lawm_eval.data.lerobot import LeRobotDataset
    from lawm_eval.suites.bfa_selection import TrainingSetSampler

    sampler = TrainingSetSampler(str(small_dataset))
    state = np.linspace(-1, 1, 25).astype(np.float32)
    candidates = sampler.sample({"state": state}, 6, torch.Generator().manual_seed(0), horizon=30)
    assert candidates.shape == (6, 30, 25)
    episodes = [LeRobotDataset(small_dataset).episode(i) for i in range(2)]
    for candidate in candidates:  # each one is some recorded window minus its own state plus the current one
        assert any(np.allclose(candidate, ep.actions[t:t + 30] - ep.states[t] + state, atol=1e-5)
                   for ep in episodes for t in range(len(ep) - 31))
