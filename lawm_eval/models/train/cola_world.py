"""Train CoLA-World and its two-stage baseline as the paper compares them (CoLA-World §3.2-3.3, §4.1,
App. B), at tiny scale on the Franka clips:

0. **pretrain** an action-free video world model: the AdaLN transformer's trunk learns next-frame
   prediction with its conditioning modules (the latent-action MLP and each block's zero-initialised
   AdaLN modulation) unused: our stand-in for the pretrained OpenSora the paper starts from;
1. **two-stage** (``cola_two_stage``): the LAM (ST-transformer IDM + VQ + a light decoder, the FDM,
   which reads the latent tokens beside the frame's as App. B.1's does) for ``LAM_STEPS``, then the pretrained world model fine-tuned on the frozen LAM's latents (trunk
   and conditioning modules) for ``WM_STEPS``; the light decoder is dropped;
2. **CoLA-World** (``cola_world``): a fresh LAM against the same pretrained world model: warm-up for
   ``WARM_STEPS`` (world-model trunk frozen; IDM, VQ and the conditioning modules train, §3.3), then
   end to end for the rest of ``LAM_STEPS + WM_STEPS`` (the paper's
   equal-budget comparison, LAM30K+WM30K against WARM8K+E2E52K, §4.1);
3. the paper's Fig. 2 ablation, not bundled: the same joint training without warm-up, from the
   pretrained world model (its codebook curve only);
4. each bundled model's adapter: real action → GT-LAM code indices, a classifier (§4.4, App. C.2).

Losses (App. B.3): one-step teacher-forced next-frame MSE, plus the VQ and commitment losses (weight
1, commitment β 0.25 inside it). Both recipes standardise the IDM's output over the batch before the
VQ (``standardise``, ours: without it every fresh IDM maps all transitions to nearly one vector and the
codebook collapses to one code within 25 steps, two-stage LAM included) and initialise the codebook
from the fresh IDM's outputs, once; no dead-code resets (``resets=True`` is the option for ablation).
Every ``CODEBOOK_EVERY`` steps the held-out transitions' codebook utilisation, entropy, perplexity
and max usage are recorded (the paper's Fig. 2/3) into metrics.json and
docs/training/cola_codebook.png.

With ``history_frames`` K > 1 (``cola_world_history.py``: ``cola_two_stage_history``, ``cola_world_history``)
the same recipes train on 4-frame windows: the world model (pretraining included) reads up to K frames,
frame-causal and teacher-forced over the window, as the paper's video model is trained on clips with causal
temporal attention (App. B.2-B.3); the IDM still reads one pair per latent, the light decoder one frame.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F

from lawm_eval.models.cola_world import CoLAWorld
from lawm_eval.models.lam_base import AdaLNPredictor, ConcatPredictor
from lawm_eval.models.train.data import Transitions, transitions
from lawm_eval.models.train.evaluate import finish
from lawm_eval.models.train.loop import train
from lawm_eval.models.train.losses import pairs, window_loss
from lawm_eval.models.zoo import load_autoencoder

CONFIG = {"dim": 64, "code_dim": 16, "codes": 32, "latent_tokens": 2, "action_dim": 7, "depth": 2,
          "decoder_depth": 2, "adapter": "classify", "standardise": True}
PRETRAIN_STEPS = 2000
LAM_STEPS, WM_STEPS = 1500, 1500  # two-stage
HISTORY_FRAMES = 3  # the *_history models' world model: the last 3 frames of 4-frame windows
WARM_STEPS = 400  # CoLA: the paper's 8K of 60K warm-up (13 %); end to end for the rest of the same 3,000 steps
ADAPTER_STEPS, ADAPTER_BATCH = 1000, 64  # App. B: the adapter trains 1K steps with batch 64
ADAPTER_SEED = 9
CODEBOOK_EVERY = 50
RESET_EVERY = 200  # the dead-code reset option
CURVE_LABELS = {"cola_world": "CoLA: warm-up, then end to end", "cola_world_no_warmup": "joint from the pretrained WM, no warm-up",
                "cola_two_stage": "two-stage LAM (light decoder)"}  # the codebook figure's curves


def phase_steps(steps: int = LAM_STEPS + WM_STEPS) -> dict[str, int]:
    """Every phase's steps for ``steps`` after pretraining, in the bundled recipe's proportions: the pretraining,
    the total after it, CoLA's warm-up and the two-stage LAM's stage."""
    scale = steps / (LAM_STEPS + WM_STEPS)
    return {"pretrain": round(PRETRAIN_STEPS * scale), "total": steps, "warm": round(WARM_STEPS * scale),
            "lam": round(LAM_STEPS * scale)}


def conditioning(world: AdaLNPredictor) -> list[torch.nn.Parameter]:
    """The action conditioning modules: the latent-action MLP, the attention over the latent sequence (if
    any) and every block's AdaLN modulation."""
    return [*world.cond.parameters(), *world.latent_blocks.parameters(),
            *(p for block in world.blocks for p in block.modulation.parameters())]


def trunk(world: AdaLNPredictor) -> list[torch.nn.Parameter]:
    """Everything else: what the action-free pretraining learns."""
    chosen = {id(p) for p in conditioning(world)}
    return [p for p in world.parameters() if id(p) not in chosen]


# -- losses --------------------------------------------------------------------------------------
def pretrain_loss(world: AdaLNPredictor, latent_dim: int, data: Transitions, generator: torch.Generator):
    """Action-free next-frame prediction: the conditioning input is zero (and its modulation is zero);
    a world model reading several frames predicts every frame of the window from the earlier ones."""
    x, _, _, _ = data.batch(64, generator)  # (B, W + 1, 16, 32)
    if world.frames > 1:
        return F.mse_loss(world.window(x[:, :-1], torch.zeros(len(x), x.shape[1] - 1, latent_dim)), x[:, 1:]), {}
    x_t, x_next = pairs(x)
    return F.mse_loss(world(x_t, torch.zeros(len(x_t), latent_dim)), x_next), {}


class ThroughDecoder:
    """Predicts through another network (the two-stage LAM's light decoder)."""

    def __init__(self, predictor: torch.nn.Module):
        self.predictor = predictor

    def predict_next(self, x_t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.predictor(x_t, z)


def lam_step(model: CoLAWorld, world, data: Transitions, generator: torch.Generator):
    """One-step teacher-forced MSE of the next frame predicted through ``world`` (the model itself, or
    the light decoder) from the IDM's quantised latents, plus the bottleneck's loss (logged as ``vq``, or ``kl``
    for the VAE); a world model with history predicts each transition of the window from its frame and the
    earlier ones."""
    x, _, _, _ = data.batch(64, generator)  # (B, W + 1, 16, 32)
    z, _, bottleneck_loss = model.quantised_latent(*pairs(x), generator)  # (B·W, L); the VAE samples z
    recon, _ = window_loss(world, x, z.view(len(x), -1, z.shape[-1]), rollout=False)
    bottleneck = "vq" if model.vq is not None else "kl"
    return recon + bottleneck_loss, {"recon": recon.item(), bottleneck: bottleneck_loss.item()}


def freeze_lam(model: CoLAWorld) -> CoLAWorld:
    """The LAM in eval mode, a fixed function: the IDM's output standardisation uses (and keeps) the
    running statistics of the LAM's own training instead of each batch's, and the VQ stops counting
    code usage (which the dead-code resets read)."""
    model.idm.eval()
    if model.vq is not None:
        model.vq.eval()
    return model


def lam_parameters(model: CoLAWorld) -> list[torch.nn.Parameter]:
    """The LAM's trainable parts: the IDM and, for the discrete latent, the codebook."""
    return [*model.idm.parameters(), *(model.vq.parameters() if model.vq is not None else [])]


def world_loss(model: CoLAWorld, data: Transitions, generator: torch.Generator, batch: int = 64):
    """The world model on the frozen LAM's quantised latents (GT-LAM): the two-stage baseline's
    stage 2, and the fine-tuning of an adapted model."""
    x, _, _, _ = data.batch(batch, generator)  # (B, W + 1, 16, 32)
    with torch.no_grad():
        z = model.idm_latent(*pairs(x))  # (B·W, L)
    recon, _ = window_loss(model, x, z.view(len(x), -1, z.shape[-1]), rollout=False)
    return recon, {"recon": recon.item()}


def adapter_loss(model: CoLAWorld, data: Transitions, generator: torch.Generator):
    """The adapter's loss on every transition of a batch of 64 (App. B): for the discrete latent, cross-entropy of
    its code logits against the frozen IDM's codes; for the continuous one, L2 to the frozen IDM's μ."""
    x, a, _, _ = data.batch(ADAPTER_BATCH, generator)
    if model.vq is None:
        with torch.no_grad():
            target = model.idm_latent(*pairs(x))  # (B·W, L)
        loss = F.mse_loss(model.control(a.flatten(0, 1), None), target)
        return loss, {"adapter_mse": loss.item()}
    with torch.no_grad():
        codes = model.codes(*pairs(x))  # (B·W, tokens)
    logits = model.adapter_logits(a.flatten(0, 1))  # (B·W, tokens, codes)
    loss = F.cross_entropy(logits.flatten(0, 1), codes.flatten())
    return loss, {"accuracy": float((logits.argmax(-1) == codes).float().mean())}


@torch.no_grad()
def adapter_accuracy(model: CoLAWorld, held: Transitions) -> float:
    """Held-out: the share of code indices the adapter names right (discrete latent)."""
    codes = freeze_lam(model).codes(*pairs(held.x))
    return float((model.adapter_logits(held.a.flatten(0, 1)).argmax(-1) == codes).float().mean())


@torch.no_grad()
def adapter_r2(model: CoLAWorld, held: Transitions) -> float:
    """Held-out: the share of the IDM latents' variance the adapter explains (continuous latent)."""
    target = freeze_lam(model).idm_latent(*pairs(held.x))  # (N, L)
    error = (model.control(held.a.flatten(0, 1), None) - target).pow(2).sum()
    return float(1 - error / (target - target.mean(0)).pow(2).sum())


def adapter_metrics(model: CoLAWorld, held: Transitions) -> dict:
    if model.vq is None:
        return {"adapter_r2": adapter_r2(model, held)}
    return {"adapter_code_accuracy": adapter_accuracy(model, held)}


def train_adapter(model: CoLAWorld, data: Transitions, steps: int = ADAPTER_STEPS) -> list:
    return train(model.adapter.parameters(), partial(adapter_loss, model, data), steps, lr=1e-3, seed=ADAPTER_SEED)


# -- codebook health -----------------------------------------------------------------------------
def codebook_usage(model: CoLAWorld, held: Transitions) -> dict:
    """Utilisation, entropy, perplexity and max usage of the codes of the held-out transitions."""
    from lawm_eval.metrics.latent import codebook_stats

    modes = model.idm.training, model.vq.training
    with torch.no_grad():
        codes = freeze_lam(model).codes(held.x[:, 0], held.x[:, 1]).flatten()
    model.idm.train(modes[0])
    model.vq.train(modes[1])
    return codebook_stats(torch.bincount(codes, minlength=model.codes_per_token).numpy())


def tracker(model: CoLAWorld, held: Transitions, curve: list[dict], offset: int = 0, every: int = CODEBOOK_EVERY,
            resets: Callable[[int], None] | None = None) -> Callable[[int], None]:
    """An ``on_step`` that records the held-out codebook health every ``every`` steps into ``curve``
    (at step ``offset + step``), and runs the dead-code resets when asked for."""

    def on_step(step: int) -> None:
        if resets is not None:
            resets(step)
        if step % every == 0 and model.vq is not None:
            curve.append({"step": offset + step, **codebook_usage(model, held)})

    return on_step


def dead_code_resets(model: CoLAWorld, data: Transitions, seed: int) -> Callable[[int], None]:
    """The ablation option: re-initialise unused codes from recent IDM outputs every RESET_EVERY steps."""
    generator = torch.Generator().manual_seed(seed)

    def on_step(step: int) -> None:
        if step == 1 or step % RESET_EVERY == 0:
            x, _, _, _ = data.batch(128, generator)
            with torch.no_grad():
                recent = model.idm(*pairs(x)).flatten(0, 1)
            model.vq.reset_dead_codes(recent, generator)

    return on_step


# -- the three recipes ---------------------------------------------------------------------------
def pretrained_world(data: Transitions, steps: int = PRETRAIN_STEPS, config: dict = CONFIG) -> AdaLNPredictor:
    """Stage 0: the action-free video world model (trunk only); the same network whatever the latent's
    bottleneck (the one the discrete models start from)."""
    torch.manual_seed(0)
    shape = CoLAWorld(**{**config, "bottleneck": "vq", "adapter": "classify"})
    world = shape.world
    train(trunk(world), partial(pretrain_loss, world, shape.latent_dim, data), steps, seed=5)
    return world


def fresh_model(world: AdaLNPredictor, data: Transitions, seed: int, config: dict = CONFIG) -> CoLAWorld:
    """A new CoLA-World network (fresh IDM; codebook initialised from the fresh IDM's outputs on one
    batch, as k-means-style VQ initialisations do, so that no code starts out of reach) holding a copy
    of the pretrained world model."""
    torch.manual_seed(seed)
    model = CoLAWorld(**config)
    model.normalizer.fit(data.a)
    model.world.load_state_dict(world.state_dict())
    generator = torch.Generator().manual_seed(seed)
    x, _, _, _ = data.batch(128, generator)
    if model.vq is None:  # a continuous latent has no codebook to initialise
        return model
    with torch.no_grad():
        outputs = model.idm(*pairs(x)).flatten(0, 1)  # (128 · W · tokens, code_dim)
        picks = torch.randperm(len(outputs), generator=generator)[: model.codes_per_token]
        model.vq.codebook.weight.copy_(outputs[picks])
    return model


def two_stage(world: AdaLNPredictor, data: Transitions, held: Transitions, lam_steps: int = LAM_STEPS,
              wm_steps: int = WM_STEPS, resets: bool = False, config: dict = CONFIG) -> tuple[CoLAWorld, dict, list]:
    model = fresh_model(world, data, seed=100, config=config)
    light = ConcatPredictor(config["dim"], config["latent_tokens"], config["code_dim"])  # the LAM's FDM, dropped afterwards
    usage: list[dict] = []
    lam_params = [*lam_parameters(model), *light.parameters()]
    stage1 = train(lam_params, lambda g: lam_step(model, ThroughDecoder(light), data, g), lam_steps, seed=1,
                   on_step=tracker(model, held, usage, resets=dead_code_resets(model, data, 11) if resets else None))
    freeze_lam(model)
    stage2 = train(model.world.parameters(), partial(world_loss, model, data), wm_steps, seed=2)
    return model, {"1: LAM + light decoder": stage1, "2: pretrained world model on frozen latents": stage2}, usage


def cola(world: AdaLNPredictor, data: Transitions, held: Transitions, warm_steps: int = WARM_STEPS,
         budget: int = LAM_STEPS + WM_STEPS, resets: bool = False, config: dict = CONFIG, e2e_lr: float = 1e-3,
         freeze_trunk: bool = True, seed: int = 0) -> tuple[CoLAWorld, dict, list]:
    """Warm-up (trunk frozen) for ``warm_steps``, then end to end at ``e2e_lr`` for the rest of ``budget``;
    0 warm-up steps: joint from the start. ``freeze_trunk=False``: the same two phases and learning
    rates with the trunk training in the first too (the no-warm-up control of the learning-rate study);
    ``seed`` > 0: another initialisation and batch order (the bundled model is seed 0)."""
    model = fresh_model(world, data, seed=200 + seed, config=config)
    usage: list[dict] = []
    lam = lam_parameters(model)
    curves = {}
    if warm_steps:
        first = conditioning(model.world) if freeze_trunk else list(model.world.parameters())
        curves["1: warm-up (world-model trunk frozen)" if freeze_trunk else "1: joint (trunk trains)"] = train(
            [*lam, *first], lambda g: lam_step(model, model, data, g), warm_steps, seed=3 + 100 * seed,
            on_step=tracker(model, held, usage, resets=dead_code_resets(model, data, 12) if resets else None))
    curves["2: end to end"] = train(
        [*lam, *model.world.parameters()], lambda g: lam_step(model, model, data, g), budget - warm_steps,
        seed=4 + 100 * seed, lr=e2e_lr,
        on_step=tracker(model, held, usage, offset=warm_steps, resets=dead_code_resets(model, data, 13) if resets else None))
    return model, curves, usage


def bundle(name: str, model: CoLAWorld, curves: dict, usage: list, data: Transitions, held: Transitions,
           held_windows: Transitions, autoencoder, extra: dict | None = None, config: dict = CONFIG) -> dict:
    adapter = "GT-LAM codes" if model.vq is not None else "GT-LAM μ"
    curves = {**curves, f"{len(curves) + 1}: adapter ({adapter})": train_adapter(freeze_lam(model), data)}
    codebook = {"codebook_usage": codebook_usage(model, held), "codebook_curve": usage} if model.vq is not None else {}
    metrics = {**codebook, **adapter_metrics(model, held), **(extra or {})}
    return finish(name, model, config, curves, ("loss", "recon", "vq", "kl", "accuracy", "adapter_mse"), held_windows,
                  "franka", autoencoder, metrics)


def plot_codebook(curves: dict[str, list[dict]], warm_steps: int = WARM_STEPS, file: str = "cola_codebook.png") -> None:
    """The paper's Fig. 2/3 at our scale: utilisation, normalised entropy and max usage over training."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lawm_eval.models.train.artifacts import REPO_DOCS

    keys = (("utilisation", "codebook utilisation"), ("normalised_entropy", "code entropy / log K"),
            ("max_usage", "max code usage"))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for ax, (key, title) in zip(axes, keys):
        for label, curve in curves.items():
            ax.plot([row["step"] for row in curve], [row[key] for row in curve], label=label)
        ax.axvline(warm_steps, color="0.8", lw=1, ls="--")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step (after pretraining)")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    REPO_DOCS.mkdir(parents=True, exist_ok=True)
    fig.savefig(REPO_DOCS / file, dpi=100)
    plt.close(fig)


def main(steps: int = LAM_STEPS + WM_STEPS, history_frames: int = 1) -> dict:
    """Both bundled models (and the no-warm-up ablation's codebook curve); ``steps``:
    the budget after pretraining, split in the proportions of LAM_STEPS / WM_STEPS and WARM_STEPS;
    ``history_frames`` > 1: the world models read that many frames (``*_history``, 4-frame windows)."""
    autoencoder = load_autoencoder()
    history = history_frames > 1
    suffix, config = ("_history", {**CONFIG, "history_frames": history_frames}) if history else ("", CONFIG)
    data = transitions("franka", autoencoder, window=history_frames)  # windows of K transitions, K + 1 frames
    held = transitions("franka", autoencoder, window=1, split="held_out")
    held_windows = transitions("franka", autoencoder, window=3, split="held_out")
    phases = phase_steps(steps)
    warm, lam = phases["warm"], phases["lam"]
    world = pretrained_world(data, phases["pretrain"], config)
    no_warmup = cola(copy.deepcopy(world), data, held, 0, steps, config=config)[2]  # the Fig. 2 ablation
    baseline, base_curves, base_usage = two_stage(world, data, held, lam, steps - lam, config=config)
    model, cola_curves, cola_usage = cola(world, data, held, warm, steps, config=config)
    curves = {CURVE_LABELS["cola_world"]: cola_usage, CURVE_LABELS["cola_world_no_warmup"]: no_warmup,
              CURVE_LABELS["cola_two_stage"]: base_usage}
    plot_codebook(curves, warm, f"cola_codebook{suffix}.png")
    two_stage_extra = {"pretrain_steps": phases["pretrain"], "lam_steps": lam, "wm_steps": steps - lam}
    cola_extra = {"pretrain_steps": phases["pretrain"], "warm_steps": warm, "e2e_steps": steps - warm,
                  "codebook_curve_without_warmup": no_warmup}
    results = {f"cola_two_stage{suffix}": bundle(f"cola_two_stage{suffix}", baseline, base_curves, base_usage, data,
                                                 held, held_windows, autoencoder, two_stage_extra, config)}
    results[f"cola_world{suffix}"] = bundle(f"cola_world{suffix}", model, cola_curves, cola_usage, data, held,
                                            held_windows, autoencoder, cola_extra, config)
    return results
