"""Train ``cola_two_stage_history`` and ``cola_world_history``: the recipes of ``cola_world.py`` (action-free
pretraining, the two-stage baseline, CoLA's warm-up then end to end, the code-classifying adapters) with
world models that read the last ``HISTORY_FRAMES`` frames, trained teacher-forced on 4-frame windows.

    python -m lawm_eval.models.train cola_world_history
"""

from __future__ import annotations

from lawm_eval.models.train import cola_world
from lawm_eval.models.train.cola_world import HISTORY_FRAMES, LAM_STEPS, WM_STEPS


def main(steps: int = LAM_STEPS + WM_STEPS) -> dict:
    return cola_world.main(steps, history_frames=HISTORY_FRAMES)
