"""Train the BFA world models of LAC-WM's Table 2 and Fig. 4 at tiny scale, on data our simulators make.

    python -m lawm_eval.models.train lac_wm_bfa       # all of them (one run writes every checkpoint)

LAC-WM pretrains on three datasets of different embodiments and adapts to BFA, an embodiment held out of
pretraining (§3.2, §4.1-4.3, A.5). Ours, with the same structure:

0. ``visual_ae_bfa``: the shared autoencoder fine-tuned on an equal mix of BFA, Franka, navigation and
   RoboDesk training frames (our stand-in for the frozen V-JEPA 2 tokenizer every model reads);
1. pretraining on 1, 2 or 3 embodiments (Franka Lift clips; + the navigation camera; + RoboDesk), the
   same number of steps whatever the count, batches taking the embodiments in turn (the paper keeps
   50,000 samples per dataset, so more embodiments means more data);
   LAC-WM: latent actions from action-free video (IDM + FDM, cross-augmentation) and a motion decoder on
   motion labels (end-effector Δxyz from the first half of z, camera motion from the second, A.2);
   EAC-WM: the FDM conditioned on each embodiment's real actions through its own action encoder;
2. adaptation to BFA (5-step action chunks, 125-D), the same number of steps for every model:
   LAC-WM in the paper's three stages (20k / 5k / 35k of 60k iterations, §4.3): (1) rank-2 LoRA on IDM
   and FDM from BFA video, (2) the action projector trained through the frozen FDM, (3) projector and FDM
   LoRA together; EAC-WM in one stage (A.6: one stage works better for it): a new action encoder and
   rank-2 FDM LoRA; EAC-WM-S: all of EAC-WM trained from scratch on BFA. The FDM's LoRA wraps every
   linear layer outside attention (``FDM_LORA``; the paper does not say which layers);
   LAC-WM-MD-CA: LAC-WM without the motion decoder and cross-augmentation (the ablation of §6.3).

Checkpoints: lac_wm_bfa and eac_wm_bfa (3 embodiments), lac_wm_bfa_e1/_e2 and eac_wm_bfa_e1/_e2 (Fig. 4's
1 and 2 embodiments), eac_wm_s_bfa, lac_wm_mdca_bfa.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lawm_eval.data.recipes import RECIPES
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.eac_wm import EACWM
from lawm_eval.models.lac_wm import LACWM
from lawm_eval.models.train.artifacts import baseline_dir, save_curve, save_golden
from lawm_eval.models.train.data import Transitions, drop_token_cache, load_arrays, transitions
from lawm_eval.models.train.evaluate import finish, fixture_path
from lawm_eval.models.train.lac_wm import label_scale, lam_loss, projector_loss
from lawm_eval.models.train.loop import LossFn, train
from lawm_eval.models.train.losses import window_loss
from lawm_eval.models.train.visual_ae import autoencoder_golden, reconstruction_loss
from lawm_eval.models.visual import VisualAutoencoder
from lawm_eval.models.zoo import load_autoencoder

AUTOENCODER = "visual_ae_bfa"
DATASET = "bfa"
EMBODIMENTS = {"franka": 7, "navigation": 3, "robodesk": 5}  # pretraining, in the order they are added
PRETRAINING = {1: ("franka",), 2: ("franka", "navigation"), 3: ("franka", "navigation", "robodesk")}
STRIDE = 5  # LAC-WM §4.3: actions chunked into 5-step sequences
ACTION_DIM = STRIDE * 25  # 125
WINDOW = 3
BATCH = 64
AE_STEPS, PRETRAIN_STEPS, ADAPT_STEPS = 1500, 800, 2400
FDM_LORA = "linear"  # LoRA on every FDM linear layer outside attention (600-step trials: -4% vs copy-last, MLPs only -7%)
LAC_STAGES = (20, 5, 35)  # thousands of iterations of the paper's three adaptation stages (§4.3)
# the FDM's pair is not augmented (A2 = identity): these checkpoints were trained before the independent A2
# of the Franka lac_wm recipe (train/lac_wm.py)
A2 = False
CONFIG = {"dim": 64, "latent_dim": 16, "depth": 2}
AE_FRAMES_PER_DOMAIN = 20_000


# -- 0. the autoencoder --------------------------------------------------------------------------
def domain_frames(name: str, limit: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    arrays = load_arrays(name)
    cut = len(arrays.frames) - RECIPES[name]["held_out"]
    train_frames, held_frames = np.concatenate(arrays.frames[:cut]), np.concatenate(arrays.frames[cut:])
    pick = rng.choice(len(train_frames), size=min(limit, len(train_frames)), replace=False)
    return torch.from_numpy(train_frames[np.sort(pick)]), torch.from_numpy(held_frames[:512])


def train_autoencoder(steps: int) -> tuple[VisualAutoencoder, dict]:
    """The shared autoencoder fine-tuned on an equal mix of the four domains' training frames."""
    rng = np.random.default_rng(0)
    frames, held = zip(*(domain_frames(n, AE_FRAMES_PER_DOMAIN, rng) for n in (DATASET, *EMBODIMENTS)))
    mixed = torch.cat(frames)
    torch.manual_seed(0)
    model = copy.deepcopy(load_autoencoder()).train()
    curve = train(model.parameters(), partial(reconstruction_loss, model, mixed), steps, lr=1e-3, log_every=50)
    model.eval()
    metrics = {}
    with torch.no_grad():
        for name, h in zip((DATASET, *EMBODIMENTS), held):
            images = VisualAutoencoder.to_unit(h)
            mse = float(F.mse_loss(model.decoder(model.encoder(images)), images))
            metrics[f"{name}_held_out_psnr"] = float(10 * np.log10(1 / mse))
    save_model(baseline_dir(AUTOENCODER) / "model.pt", AUTOENCODER, model, {"width": 32}, {"metrics": metrics})
    save_curve(AUTOENCODER, {"autoencoder (4 domains)": curve}, keys=("loss", "recon_mse"))
    save_golden(AUTOENCODER, autoencoder_golden(model, (DATASET,)))
    (baseline_dir(AUTOENCODER) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    for name in (DATASET, *EMBODIMENTS):  # tokens of the previous autoencoder
        drop_token_cache(name, AUTOENCODER)
    return model, metrics


def write_fixture() -> None:
    """The BFA golden batch: 8 held-out windows of 4 frames 5 steps apart, with their 125-D action chunks."""
    arrays = load_arrays(DATASET)
    held = RECIPES[DATASET]["held_out"]
    frames, actions, states = [], [], []
    for i in range(8):
        e, t = len(arrays.frames) - held + i, 20 + 15 * i
        frames.append(arrays.frames[e][t:t + WINDOW * STRIDE + 1:STRIDE])
        actions.append(arrays.actions[e][t:t + WINDOW * STRIDE].reshape(WINDOW, ACTION_DIM))
        states.append(arrays.states[e][t:t + WINDOW * STRIDE + 1:STRIDE])
    np.savez_compressed(fixture_path(DATASET), frames=np.stack(frames), actions=np.stack(actions),
                        states=np.stack(states))


# -- 1. pretraining ------------------------------------------------------------------------------
def in_turn(losses: list[LossFn]) -> LossFn:
    """One loss after the other, step by step (one embodiment's batch per step)."""
    counter = {"step": 0}

    def loss_fn(generator: torch.Generator):
        counter["step"] += 1
        return losses[counter["step"] % len(losses)](generator)

    return loss_fn


def lac_network(action_dim: int = ACTION_DIM) -> LACWM:
    """LAC-WM before pretraining; ``action_dim``: the target's, which only the projector reads."""
    return LACWM(**CONFIG, action_dim=action_dim, motion_labels=True, lora_layers=FDM_LORA)


def eac_network(action_dims: dict[str, int]) -> EACWM:
    """EAC-WM before pretraining: one action encoder per embodiment (name -> action dimension), the first in use."""
    return EACWM(**CONFIG, embodiments=action_dims, embodiment=next(iter(action_dims)), lora_layers=FDM_LORA)


def pretrain_lac(data: dict[str, Transitions], embodiments: tuple[str, ...], steps: int, motion: bool = True,
                 action_dim: int = ACTION_DIM, independent_a2: bool = A2,
                 on_step: Callable[[nn.Module, int], None] | None = None, seed: int = 0):
    """LAC-WM's latent actions from the embodiments' action-free video, in turn (``on_step(model, step)`` after
    every step, to follow the training; ``seed``: initialisation, and ``seed + 1`` the batches)."""
    torch.manual_seed(seed)
    model = lac_network(action_dim)
    params = list(model.idm.parameters()) + list(model.fdm.parameters())
    params += list(model.motion.parameters()) if motion else []
    losses = [partial(lam_loss, model, data[e], motion=motion, scale=label_scale(data[e]),
                      independent_a2=independent_a2, batch=BATCH) for e in embodiments]
    curve = train(params, in_turn(losses), steps, lr=1e-3, seed=seed + 1, log_every=50,
                  on_step=partial(on_step, model) if on_step else None)
    return model, curve


def action_loss(model: EACWM, data: Transitions, embodiment: str, generator: torch.Generator):
    x, a, _, _ = data.batch(BATCH, generator)
    latents = model.encode_action(a.flatten(0, 1), embodiment).view(len(a), a.shape[1], -1)
    return window_loss(model, x, latents)


def pretrain_eac(data: dict[str, Transitions], embodiments: tuple[str, ...], steps: int,
                 on_step: Callable[[nn.Module, int], None] | None = None, seed: int = 0):
    """EAC-WM on the embodiments' real actions, one action encoder each, in turn (``on_step`` and ``seed`` as
    ``pretrain_lac``'s)."""
    torch.manual_seed(seed)
    model = eac_network({e: data[e].a.shape[-1] for e in embodiments})
    for e in embodiments:
        model.normalizers[e].fit(data[e].a)
    curve = train(model.parameters(), in_turn([partial(action_loss, model, data[e], e) for e in embodiments]),
                  steps, lr=1e-3, seed=seed + 1, log_every=50, on_step=partial(on_step, model) if on_step else None)
    return model, curve


# -- 2. adaptation to the held-out embodiment (BFA here, Franka in franka_held_out.py) -------------
def adapted_with(lora_rank: int) -> str:
    """How an adaptation trains the pretrained modules, for its curves' names: LoRA, or every weight (rank 0)."""
    return "LoRA" if lora_rank else "fine-tuned"


def fdm_parameters(model: LACWM | EACWM, lora_rank: int) -> list[nn.Parameter]:
    """What an adaptation trains of the FDM: rank-``lora_rank`` LoRA factors (the rest frozen), or every FDM
    weight (rank 0)."""
    return model.enable_lora(lora_rank) if lora_rank else list(model.fdm.parameters())


def adapt_lac(model: LACWM, target: Transitions, steps: int, motion: bool = True,
              independent_a2: bool = A2, stages: tuple[int, ...] = (1, 2, 3), lora_rank: int = 2) -> dict[str, list]:
    """LAC-WM's adaptation stages on the held-out embodiment's data, ``steps`` in all: (1) LoRA (rank 2 as the
    paper's; ``lora_rank`` for an ablation, 0: every weight instead) on IDM and FDM, (2) the projector through the
    frozen FDM, (3) projector + FDM LoRA (every FDM weight with ``lora_rank`` 0). ``stages``: a subset, for the
    fine-tuning-strategy ablations (A.6, Table 5), the steps shared in the paper's proportions among them."""
    model.normalizer.fit(target.a)
    shares = {k: share for k, share in zip((1, 2, 3), LAC_STAGES) if k in stages}
    length = {k: round(steps * share / sum(shares.values())) for k, share in shares.items()}
    idm = model.enable_idm_lora(lora_rank) if lora_rank else list(model.idm.parameters())
    fdm = fdm_parameters(model, lora_rank)
    tuned = adapted_with(lora_rank)
    curves = {}
    if 1 in stages:
        curves[f"adapt 1: IDM+FDM {tuned}"] = train(
            idm + fdm, partial(lam_loss, model, target, motion=motion, scale=label_scale(target),
                               independent_a2=independent_a2, batch=BATCH), length[1], lr=1e-3, seed=2, log_every=25)
    if 2 in stages:
        curves["adapt 2: projector"] = train(model.projector.parameters(),
                                             partial(projector_loss, model, target, batch=BATCH), length[2], lr=1e-3,
                                             seed=3, log_every=25)
    if 3 in stages:
        curves[f"adapt 3: projector + FDM {tuned}"] = train(
            list(model.projector.parameters()) + fdm, partial(projector_loss, model, target, batch=BATCH),
            length[3], lr=5e-4, seed=4, log_every=25)
    return curves


def new_embodiment(model: EACWM, target: Transitions, embodiment: str, lora_rank: int = 2) -> tuple[list, list]:
    """A new action encoder for ``embodiment`` (normalised on the target, in use) and FDM LoRA (rank 2 as the
    paper's; ``lora_rank`` 0: every FDM weight instead): the parameters of each."""
    encoder = model.add_embodiment(embodiment, target.a.shape[-1])
    lora = fdm_parameters(model, lora_rank)
    model.normalizers[embodiment].fit(target.a)
    model.use(embodiment)
    return encoder, lora


def adapt_eac(model: EACWM, target: Transitions, steps: int, embodiment: str = DATASET, lora_rank: int = 2) -> list:
    """EAC-WM's one adaptation stage: a new action encoder for ``embodiment`` and FDM LoRA (rank 2 as the paper's;
    ``lora_rank`` 0: every FDM weight)."""
    encoder, lora = new_embodiment(model, target, embodiment, lora_rank)
    return train(encoder + lora, partial(action_loss, model, target, embodiment), steps, lr=1e-3, seed=2,
                 log_every=25)


def adapt_eac_two_stage(model: EACWM, target: Transitions, steps: int, embodiment: str = DATASET,
                        lora_rank: int = 2) -> dict[str, list]:
    """EAC-WM-TFT (A.6, Table 5): a new action encoder through the frozen FDM, then the encoder and FDM LoRA (rank
    2 as the paper's) together; the steps split as LAC-WM's projector stages (5 : 35), which the paper gives for TFT
    no split."""
    encoder, lora = new_embodiment(model, target, embodiment, lora_rank)
    first = round(steps * LAC_STAGES[1] / (LAC_STAGES[1] + LAC_STAGES[2]))
    loss = partial(action_loss, model, target, embodiment)
    return {"adapt 1: new action encoder, FDM frozen": train(encoder, loss, first, lr=1e-3, seed=2, log_every=25),
            f"adapt 2: action encoder + FDM {adapted_with(lora_rank)}": train(encoder + lora, loss, steps - first,
                                                                            lr=1e-3, seed=3, log_every=25)}


def from_scratch_eac(target: Transitions, steps: int, embodiment: str = DATASET) -> tuple[EACWM, list]:
    """EAC-WM-S: the whole of EAC-WM trained on the held-out embodiment alone, with the adaptation's budget."""
    torch.manual_seed(0)
    model = EACWM(**CONFIG, embodiments={embodiment: target.a.shape[-1]}, embodiment=embodiment)
    model.normalizers[embodiment].fit(target.a)
    return model, train(model.parameters(), partial(action_loss, model, target, embodiment), steps, lr=1e-3, seed=2,
                        log_every=25)


LAC_VARIANTS = {"lac_wm_bfa_e1": (1, True), "lac_wm_bfa_e2": (2, True), "lac_wm_bfa": (3, True),
                "lac_wm_mdca_bfa": (3, False)}  # name -> (pretraining embodiments, motion decoder + cross-augmentation)
EAC_VARIANTS = {"eac_wm_bfa_e1": 1, "eac_wm_bfa_e2": 2, "eac_wm_bfa": 3, "eac_wm_s_bfa": 0}  # 0: from scratch
NAMES = (*LAC_VARIANTS, *EAC_VARIANTS)


def main(pretrain_steps: int = PRETRAIN_STEPS, adapt_steps: int = ADAPT_STEPS, ae_steps: int = AE_STEPS,
         names: tuple[str, ...] = NAMES) -> dict:
    """Every BFA checkpoint (``names``: some of them, to share the work between processes once the
    autoencoder exists; it is trained when all are asked for, or when it is missing)."""
    results: dict[str, dict] = {}
    write_fixture()
    if set(names) == set(NAMES) or not (baseline_dir(AUTOENCODER) / "model.pt").exists():
        train_autoencoder(ae_steps)
        load_autoencoder.cache_clear()
    autoencoder = load_autoencoder(AUTOENCODER)
    tokens = partial(transitions, autoencoder=autoencoder, window=WINDOW, autoencoder_name=AUTOENCODER)
    data = {e: tokens(e) for e in EMBODIMENTS}
    bfa = tokens(DATASET, stride=STRIDE)
    held = tokens(DATASET, stride=STRIDE, split="held_out")
    keys = ("loss", "recon", "rollout", "motion")
    lac_config = {**CONFIG, "action_dim": ACTION_DIM, "lora_rank": 2, "idm_lora_rank": 2, "motion_labels": True,
                  "lora_layers": FDM_LORA}
    for name in names:
        tic = time.monotonic()
        if name in LAC_VARIANTS:
            count, motion = LAC_VARIANTS[name]
            model, curve = pretrain_lac(data, PRETRAINING[count], pretrain_steps, motion)
            curves = {f"pretrain ({count} embodiments)": curve, **adapt_lac(model, bfa, adapt_steps, motion)}
            config = lac_config
            extra = {"pretraining": list(PRETRAINING[count]), "motion_decoder": motion, "cross_augmentation": motion}
        elif EAC_VARIANTS[name]:
            count = EAC_VARIANTS[name]
            model, curve = pretrain_eac(data, PRETRAINING[count], pretrain_steps)
            curves = {f"pretrain ({count} embodiments)": curve,
                      "adapt: new action encoder + FDM LoRA": adapt_eac(model, bfa, adapt_steps)}
            embodiments = {e: EMBODIMENTS[e] for e in PRETRAINING[count]} | {DATASET: ACTION_DIM}
            config = {**CONFIG, "embodiments": embodiments, "embodiment": DATASET, "lora_rank": 2, "lora_layers": FDM_LORA}
            extra = {"pretraining": list(PRETRAINING[count])}
        else:  # EAC-WM-S: the whole model from scratch on BFA, with the adaptation's budget
            model, curve = from_scratch_eac(bfa, adapt_steps)
            curves = {"from scratch on BFA": curve}
            config = {**CONFIG, "embodiments": {DATASET: ACTION_DIM}, "embodiment": DATASET}
            extra = {"pretraining": []}
        extra |= {"pretrain_steps": pretrain_steps if extra["pretraining"] else 0, "adapt_steps": adapt_steps,
                  "train_seconds": round(time.monotonic() - tic, 1)}
        results[name] = finish(name, model, config, curves, keys, held, DATASET, autoencoder, extra)
    return results
