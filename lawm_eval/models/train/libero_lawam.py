"""Train ``lawam_libero``: the LaWAM policy (``models/lawm.py``: latent policy → LaWM subgoal → flow-
matching action expert, Eq. 5) on LIBERO, its subgoals predicted by the frozen ``lawm_libero``, whose one
transition spans one executed chunk (8 actions), so the subgoal horizon is one action chunk as in the
paper (§3.3):

    python -m lawm_eval.models.train lawam_libero

Data: the ``libero_object_demos`` oracle episodes that succeeded, every step t a sample (the agentview
frame at 64² through ``visual_ae_libero``, the frame 8 steps later, the next 8 actions, the task); the
episodes of initial states 28-29 are held out: their chunk L1 is reported beside the median-action
chunk's and the same expert's without the subgoal stream (the paper's "w/o LaWM"). The latent policy
distils the LaWM IDM's latent, the subgoal is supervised through the frozen LaWM, the expert reads it
detached (knowledge insulation): no action-loss gradient reaches the latent policy or LaWM.
"""

from __future__ import annotations

import json
import time
from functools import partial

import torch
import torch.nn.functional as F

from lawm_eval.data.recipes import ensure_dataset
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.train import libero_world_models as libero
from lawm_eval.models.train.artifacts import baseline_dir, save_curve, save_golden
from lawm_eval.models.train.data import encode_frames
from lawm_eval.models.train.evaluate import load_fixture
from lawm_eval.models.train.lawm import lawam_policy, policy_loss, window_errors
from lawm_eval.models.train.libero_bc import load_demos
from lawm_eval.models.train.loop import train
from lawm_eval.models.zoo import load_autoencoder, load_bundled

NAME = "lawam_libero"
STEPS = 4000


def main(steps: int = STEPS) -> dict:
    tic = time.monotonic()
    train_eps, held_eps = libero.split(load_demos(ensure_dataset(libero.DATASET), 64))
    train_eps = [e for e in train_eps if e.meta.get("success", True)]  # behaviour cloning: the successes
    tasks = sorted({e.task for e in train_eps + held_eps})
    autoencoder = load_autoencoder(libero.AUTOENCODER)
    world, _, _ = load_bundled(libero.NAME)
    config = dict(libero.CONFIG)  # what trained lawm_libero

    def samples(episodes):  # x (N,2,16,32), a (N,1,56), task (N,): the sorted instructions' index
        data = libero.strided_windows(episodes, [encode_frames(autoencoder, e.frames) for e in episodes], window=1)
        order = sorted({e.task for e in episodes})
        data.task = torch.tensor([tasks.index(order[i]) for i in data.task.tolist()])
        return data

    data, held = samples(train_eps), libero.thinned(samples(held_eps))
    median = data.a[:, 0].view(len(data), libero.STRIDE, -1).median(0).values  # (8, 7)
    runs, curves = {}, {}
    for label, use_subgoal in (("LaWAM", True), ("without LaWM", False)):
        torch.manual_seed(3)  # both arms start from the same weights
        policy = lawam_policy(world, config, data, use_subgoal, tasks=len(tasks), chunk=libero.STRIDE)
        curves[label] = train([p for p in policy.parameters() if p.requires_grad],
                              partial(policy_loss, policy, world, data), steps, lr=1e-3, seed=4)
        policy.eval()
        runs[label] = (policy, window_errors(policy, held, median))
    (policy, errors), (_, ablation_errors) = runs["LaWAM"], runs["without LaWM"]
    with torch.no_grad():
        subgoal = policy.subgoal(held.x[:, 0], held.task)[1]
    metrics = {**{key: float(value.mean()) for key, value in errors.items()},
               "without_lawm_chunk_l1": float(ablation_errors["chunk_l1"].mean()),
               "without_lawm_sampled_chunk_l1": float(ablation_errors["sampled_chunk_l1"].mean()),
               "subgoal_token_mse": float(F.mse_loss(subgoal, held.x[:, 1])),
               "copy_last_token_mse": float(F.mse_loss(held.x[:, 0], held.x[:, 1])),
               "held_out_windows": len(held), "training_samples": len(data),
               "train_seconds": round(time.monotonic() - tic, 1)}
    network_config = {"lawm_config": config, "tasks": len(tasks), "chunk": libero.STRIDE}
    save_model(baseline_dir(NAME) / "model.pt", NAME, policy, network_config, {"metrics": metrics, "tasks": tasks})
    save_curve(NAME, curves, ("loss", "distill", "subgoal", "flow"))
    with torch.no_grad():  # the golden batch's first frame, task 0, the deterministic chunk
        frames = torch.from_numpy(load_fixture(libero.DATASET)["frames"][:1, :1])
        chunk = policy.act_tokens(autoencoder.encode(frames)[:, 0], torch.zeros(1, dtype=torch.long))
    save_golden(NAME, {"first_chunk": chunk[0].tolist(), "dataset": libero.DATASET})
    (baseline_dir(NAME) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
