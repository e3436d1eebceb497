"""Train ``cola_two_stage_vae`` and ``cola_world_vae``: CoLA-World's continuous-latent variant (App. D.5,
Table 6), "a continuous VAE bottleneck (similar to AdaWorld)" in place of the VQ, the rest of the pipeline
unchanged:

- the same action-free pretrained world model as ``cola_world`` (``pretrained_world``);
- two-stage: the LAM (IDM + Gaussian bottleneck + light decoder) for ``LAM_STEPS``, then the world model
  on the frozen LAM's μ for ``WM_STEPS`` (Table 6: LAM30K + WM30K);
- CoLA: warm-up (world-model trunk frozen) for ``WARM_STEPS_VAE``, then end to end for ``E2E_STEPS_VAE``
  (Table 6: WARM4K + E2E30K, 34/60 of the two-stage budget; here 200 + 1,500 against 1,500 + 1,500);
- each model's adapter: a 2-layer MLP regressing the frozen IDM's μ from the real action (L2).

Losses: one-step teacher-forced next-frame MSE + KL_WEIGHT · max(KL, KL_MIN) (``models/cola_world.py``).
KL_MIN is the paper's 10 nats; the weight is ours (1e-5 against our ~5e-3 token MSE, as LaWM's β): the
paper's 1e-3, set against OpenSora's flow-matching loss, collapses the posterior here (latent std 0.0007).

    python -m lawm_eval.models.train cola_world_vae
"""

from __future__ import annotations

from lawm_eval.models.train.cola_world import (
    CONFIG,
    LAM_STEPS,
    PRETRAIN_STEPS,
    WM_STEPS,
    bundle,
    cola,
    pretrained_world,
    two_stage,
)
from lawm_eval.models.train.data import transitions
from lawm_eval.models.zoo import load_autoencoder

VAE_CONFIG = {**CONFIG, "adapter": "regress", "standardise": False, "bottleneck": "vae"}
WARM_STEPS_VAE, E2E_STEPS_VAE = 200, 1500  # Table 6's 4K + 30K against 30K + 30K, at our 1,500 + 1,500


def main(steps: int = LAM_STEPS + WM_STEPS) -> dict:
    """Both models; ``steps``: the two-stage budget after pretraining, every stage scaled with it."""
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=1)
    held = transitions("franka", autoencoder, window=1, split="held_out")
    held_windows = transitions("franka", autoencoder, window=3, split="held_out")
    scale = steps / (LAM_STEPS + WM_STEPS)
    pretrain, lam = round(PRETRAIN_STEPS * scale), round(LAM_STEPS * scale)
    warm, e2e = round(WARM_STEPS_VAE * scale), round(E2E_STEPS_VAE * scale)
    world = pretrained_world(data, pretrain, VAE_CONFIG)
    baseline, base_curves, _ = two_stage(world, data, held, lam, steps - lam, config=VAE_CONFIG)
    model, cola_curves, _ = cola(world, data, held, warm, warm + e2e, config=VAE_CONFIG)
    return {
        "cola_two_stage_vae": bundle("cola_two_stage_vae", baseline, base_curves, [], data, held, held_windows,
                                     autoencoder, {"pretrain_steps": pretrain, "lam_steps": lam, "wm_steps": steps - lam},
                                     VAE_CONFIG),
        "cola_world_vae": bundle("cola_world_vae", model, cola_curves, [], data, held, held_windows, autoencoder,
                                 {"pretrain_steps": pretrain, "warm_steps": warm, "e2e_steps": e2e}, VAE_CONFIG),
    }
