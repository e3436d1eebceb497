"""How well a perfect image world model would plan on ``recon_planning`` with the protocol's latent L2 cost.

    python scripts/recon_cost_ceiling.py                      # the protocol's search, 50 clips (~1 min)
    python scripts/recon_cost_ceiling.py suite.episodes=20 'planner.init_std=[0.5,0.5,0.5]' \\
        planner.iterations=10 planner.num_samples=300 planner.num_elites=10   # a harder search (~8 min)

The privileged reference of the suite plans on the true unicycle dynamics with the pose as its state. Here the
same planner, seeds and candidates plan on the true dynamics too, but each candidate's final pose is rendered in
the navigation generator's scene and encoded with the model's encoder, and the cost is the L2 to the encoded goal
pose: the cost a world model that predicts every frame exactly would give the planner. The model itself plans as in
the suite; the script prints mean ATE (metres) per row and paired per-clip differences with 95 % t intervals.
Extra arguments are run overrides (``model=...``, ``suite.*``, ``planner.*``). Measured numbers:
docs/protocols/recon_planning.md, "What the image cost allows".
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import stats

from lawm_eval.config import compose_config
from lawm_eval.models.baselines import oracle_nav
from lawm_eval.runner.build import build_model, build_planner, build_suite
from lawm_eval.suites.planning import StraightLineObjective, straight_line_actions, to_start_frame

Tensor = torch.Tensor


class RenderedPoseCost:
    """cost(sample) = ‖encode(render(final pose)) − encode(render(goal pose))‖ under the true dynamics.

    ``encode_poses`` maps (N, 3) poses (x, y, yaw) to (N, *S) encoded renders; ``context`` (1, Tc, 3) poses."""

    def __init__(self, encode_poses: Callable[[Tensor], Tensor], context: Tensor, goal_pose: Tensor, low: Tensor, high: Tensor, steps: int):
        self.encode_poses, self.context, self.low, self.high, self.steps = encode_poses, context, low, high, steps
        self.dynamics = oracle_nav().world_model
        self.goal = encode_poses(goal_pose)  # (1, *S)

    def __call__(self, samples: Tensor) -> Tensor:  # (N, 1, 3) -> (N,)
        actions, _ = straight_line_actions(samples[:, 0].double(), self.low, self.high, self.steps)  # (N, steps, 3)
        context = self.context.expand(len(actions), *self.context.shape[1:])
        final = self.dynamics.rollout(context, actions.float())[:, -1]  # (N, 3)
        return (self.encode_poses(final) - self.goal).flatten(1).norm(dim=1)


def pose_encoder(model: Any, scene: Any, adapt: Callable[[np.ndarray], Tensor]) -> Callable[[Tensor], Tensor]:
    """(N, 3) poses -> (N, *S): each rendered in ``scene``, adapted by ``adapt`` ((N, H, W, 3) uint8 -> (1, N, 3,
    h, w), the suite's ``model_frames``: the model's declared size and resize) and encoded by ``model``'s encoder."""

    def encode_poses(poses: Tensor) -> Tensor:
        renders = np.stack([scene.render(float(x), float(y), float(yaw)) for x, y, yaw in poses.tolist()])
        frames = adapt(renders)[0].float().div(255)[:, None]  # (N, 1, 3, h, w) in [0, 1]
        return model.encoder.encode(frames)[:, 0]

    return encode_poses


def interval(values: list[float]) -> str:
    x = np.asarray(values)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return f"{x.mean():+.4f} [{x.mean() - half:+.4f}, {x.mean() + half:+.4f}]"


@torch.no_grad()
def main(overrides: list[str]) -> dict[str, list[float]]:
    from lawm_eval.data.generate.navigation import NavigationConfig, NavigationScene

    torch.set_num_threads(1)
    config = compose_config(["suite=recon_planning", "model=lam_nav", *overrides])
    suite = build_suite(config)
    model, planner = build_model(config, suite), build_planner(config, suite)
    scene = NavigationScene(NavigationConfig())  # the scene every generated navigation clip was rendered in
    encode_poses = pose_encoder(model, scene, lambda frames: suite.model_frames(model, frames))
    p, steps = suite.params, suite.goal_offset
    if p["cost"] != "latent_l2":
        raise SystemExit("recon_cost_ceiling: the script compares latent L2 costs; drop suite.cost")
    low, high = suite.bounds()
    init_mean = torch.tensor([p["init_mean"]], dtype=torch.float32)
    ate: dict[str, list[float]] = {"model": [], "perfect image model": [], "random plan": []}
    try:
        for spec in suite.episodes():
            episode, indices, context, goal = suite.context_and_goal(spec, model)
            now = int(indices[p["context_frames"] - 1])
            world = np.asarray(episode.states[now : now + steps + 1, :2], dtype=np.float64)
            truth = to_start_frame(world, float(episode.states[now, 2]))[1:]
            poses = oracle_nav().encoder.encode(suite.recorded_states(episode, indices, 3))  # (1, T, 3)
            objectives = {
                "model": StraightLineObjective(model, context, goal, low, high, steps, "latent_l2", p["repeats"]),
                "perfect image model": RenderedPoseCost(encode_poses, poses[:, : p["context_frames"]], poses[:, -1],
                                                        low, high, steps),
            }
            for name, objective in objectives.items():
                plan = planner.plan(objective, torch.Generator().manual_seed(spec.seed), init_mean=init_mean)
                ate[name].append(suite.score(plan.actions[:1], truth, low, high)[1]["ate"])
            random_plan = suite.random_reference(planner).plan(None, torch.Generator().manual_seed(spec.seed),
                                                               init_mean=init_mean).actions[:1]
            ate["random plan"].append(suite.score(random_plan, truth, low, high)[1]["ate"])
    finally:
        scene.close()
        suite.close()
    for name, values in ate.items():
        print(f"{name}: ATE {np.mean(values):.4f} m over {len(values)} clips")
    print("perfect image model - random plan:", interval(np.subtract(ate["perfect image model"], ate["random plan"])))
    print("model - random plan:", interval(np.subtract(ate["model"], ate["random plan"])))
    print("model - perfect image model:", interval(np.subtract(ate["model"], ate["perfect image model"])))
    return ate


if __name__ == "__main__":
    main(sys.argv[1:])
