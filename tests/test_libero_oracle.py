"""The scripted LIBERO oracle's plan choice and its perturbed variants, without the simulator."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from lawm_eval.errors import ConfigError
from lawm_eval.models.libero_oracle import (
    PERTURBATION_LEVELS,
    LiberoOracle,
    Perturbation,
    PerturbedOracle,
    perturbed_oracle,
)


def plan_for(goal, raw):
    oracle = LiberoOracle()
    oracle.reset(0)
    oracle.plan({"sim": SimpleNamespace(parsed_problem={"goal_state": goal}), "raw": raw})
    return [phase.name for phase in oracle.phases]


RAW = {"akita_black_bowl_1_pos": np.zeros(3), "akita_black_bowl_1_quat": np.array([0, 0, 0, 1.0]),
       "plate_1_pos": np.array([0.1, 0.0, 0.0]), "robot0_eef_quat": np.array([0, 0, 0, 1.0])}


def test_pick_and_place_onto_an_object_is_scripted():
    phases = plan_for([("on", "akita_black_bowl_1", "plate_1")], RAW)
    assert phases[0] == "above object" and phases[-1] == "retreat"


def test_a_region_target_without_a_position_holds_still_instead_of_failing():
    # libero_goal's 'on the stove' targets a region, which has no <target>_pos observation
    assert plan_for([("on", "akita_black_bowl_1", "flat_stove_1_cook_region")], RAW) == ["unsupported goal"]
    assert plan_for([("open", "wooden_cabinet_1_top_region")], RAW) == ["unsupported goal"]


# -- the perturbed oracle (the graded policy population) ------------------------------------------
def observation(eef=(0.3, 0.0, 0.3)):
    raw = {**RAW, "robot0_eef_pos": np.asarray(eef, dtype=float)}
    return {"sim": SimpleNamespace(parsed_problem={"goal_state": [("on", "akita_black_bowl_1", "plate_1")]}),
            "raw": raw}


def actions(policy, steps: int, seed: int = 0) -> np.ndarray:
    policy.reset(seed)
    return np.stack([policy.act(observation())[0] for _ in range(steps)])  # (steps, 7)


def test_level_zero_is_the_oracle_and_each_perturbation_does_what_it_says():
    oracle = actions(LiberoOracle(), 200)  # the arm never moves here, so every phase times out in turn
    assert np.array_equal(actions(PerturbedOracle(Perturbation()), 200), oracle)
    late = actions(PerturbedOracle(Perturbation(gripper_delay=4)), 200)
    closes = int(np.argmax(oracle[:, 6] > 0))  # the step the script closes the fingers
    assert closes > 0 and late[closes + 3, 6] < 0 and late[closes + 4, 6] > 0  # four steps late
    assert np.array_equal(late[:, :6], oracle[:, :6])
    paused = actions(PerturbedOracle(Perturbation(pause_probability=1.0, pause_steps=5)), 20)
    assert not paused[:, :6].any()  # a pause starts whenever none is running
    noisy = actions(PerturbedOracle(Perturbation(action_noise=0.3)), 50, seed=3)
    assert np.array_equal(noisy, actions(PerturbedOracle(Perturbation(action_noise=0.3)), 50, seed=3))
    assert not np.array_equal(noisy, actions(PerturbedOracle(Perturbation(action_noise=0.3)), 50, seed=4))
    assert 0.1 < np.std(noisy[:, :3] - oracle[:50, :3]) < 0.5 and np.all(np.abs(noisy[:, :6]) <= 1)


def test_early_close_stops_the_descent_above_the_grasp_point():
    policy = PerturbedOracle(Perturbation(early_close=0.03))
    policy.reset(0)
    policy.act(observation())
    reference = LiberoOracle()
    reference.plan(observation())
    descend = [p.target for p in policy.oracle.phases if p.name == "descend"][0]
    expected = [p.target for p in reference.phases if p.name == "descend"][0]
    assert np.allclose(descend - expected, [0, 0, 0.03])


def test_the_ladder_is_a_model_with_checked_levels():
    bundle = perturbed_oracle(level=2)
    assert bundle.info["perturbation"]["gripper_delay"] == PERTURBATION_LEVELS[2].gripper_delay
    noise = [level.action_noise for level in PERTURBATION_LEVELS]
    assert noise == sorted(noise) and noise[0] == 0  # graded: more noise with every level
    for bad in (len(PERTURBATION_LEVELS), -1, 1.5, "2", True):
        with pytest.raises(ConfigError, match="levels 0..5"):
            perturbed_oracle(level=bad)
