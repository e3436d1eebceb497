"""The scripted LIBERO oracle's plan choice, without the simulator."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from lawm_eval.models.libero_oracle import LiberoOracle


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
