"""scripts/recon_cost_ceiling.py: the perfect-image-model cost on recon_planning's true dynamics."""

from __future__ import annotations

import math

import numpy as np
import torch

from lawm_eval.suites.planning import straight_line_actions
from tests.scripts_loader import load_script

script = load_script("recon_cost_ceiling")


def test_the_cost_is_the_distance_of_the_encoded_final_pose_to_the_encoded_goal():
    low, high = torch.tensor([-0.05, -0.1], dtype=torch.float64), torch.tensor([0.2, 0.1], dtype=torch.float64)
    samples = torch.tensor([[[0.5, 0.2, 0.0]], [[-0.3, -0.8, 0.1]], [[0.9, 0.9, -0.2]]])  # (N, 1, 3)
    _, positions = straight_line_actions(samples[:, 0].double(), low, high, 8)  # (N, 8, 2), start frame
    start = torch.tensor([[[1.0, 2.0, math.pi / 2]]])  # (1, 1, 3): at (1, 2), facing +y
    ends = torch.tensor([1.0, 2.0]) + torch.stack([-positions[:, -1, 1], positions[:, -1, 0]], dim=1).float()  # world
    goal = torch.tensor([[*ends[1].tolist(), 0.0]])  # where the second sample ends

    def encode_positions(poses):  # (N, 3) -> (N, 2): an encoder that sees only where the camera is
        return poses[:, :2].float() * 3

    cost = script.RenderedPoseCost(encode_positions, start, goal, low, high, 8)(samples)
    expected = 3 * (ends - ends[1]).norm(dim=1)
    assert torch.allclose(cost, expected, atol=1e-4)
    assert cost[1] < 1e-4 and cost.argmin() == 1


def test_poses_are_rendered_and_encoded_as_the_suite_encodes_frames():
    class Scene:
        def render(self, x, y, yaw):  # (H, W, 3) uint8, brighter further along x
            return np.full((4, 6, 3), int(40 * x) % 256, dtype=np.uint8)

    class Encoder:
        def encode(self, frames):  # (N, T, 3, H, W) in [0, 1] -> (N, T, 1)
            assert frames.shape[1:] == (1, 3, 4, 6) and frames.max() <= 1
            return frames.mean(dim=(2, 3, 4))[..., None]

    class Model:
        encoder = Encoder()

    def adapt(frames):  # (N, H, W, 3) -> (1, N, 3, H, W), as the suite's model_frames
        return torch.as_tensor(frames).permute(0, 3, 1, 2)[None]

    encoded = script.pose_encoder(Model(), Scene(), adapt)(torch.tensor([[1.0, 0.0, 0.0], [2.0, 5.0, 1.0]]))
    assert encoded.shape == (2, 1) and torch.allclose(encoded[:, 0], torch.tensor([40 / 255, 80 / 255]))
