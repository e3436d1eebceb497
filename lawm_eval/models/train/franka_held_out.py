"""LAC-WM's comparison again, with the Franka arm as the embodiment held out of pretraining.

    python -m lawm_eval.models.train lac_wm_to_franka     # all three checkpoints in one run
    python -m lawm_eval.models.train.franka_held_out --names eac_wm_s_franka --target-episodes 11

``bfa_world_models.py`` adapts to BFA, whose scene has no planning suite. Here the target is the Franka arm,
on which ``droid_planning`` plans, so the three models LAC-WM's Table 1/2 compare (§4.1-4.3, A.5-A.6) can
be told apart by planning too:

1. pretraining on the three other embodiments our simulators make, each carrying motion labels
   (the navigation camera's motion; RoboDesk's and BFA's end-effector Δxyz), batches taking them in
   turn, ``PRETRAIN_STEPS``: LAC-WM from action-free video (IDM + FDM, motion decoder, independent
   cross-augmentations A1/A2, §3.1, A.2); EAC-WM from each embodiment's real actions through its own
   action encoder;
2. adaptation to the Franka clips (all 110 training episodes, 7-D actions, one recorded step per
   transition), ``ADAPT_STEPS`` for every model: LAC-WM's three stages (rank-2 LoRA on IDM and FDM;
   the projector through the frozen FDM; projector + FDM LoRA, §3.2), EAC-WM's one (a new action
   encoder + rank-2 FDM LoRA, A.6) and EAC-WM-S, the whole of EAC-WM from scratch on Franka.

``--names`` also takes LAC-WM's fine-tuning-strategy ablations (A.6, Table 5; ``STRATEGIES``, checkpoints to the
cache): LAC-WM-DFT (projector + FDM LoRA only, stage 3), LAC-WM-(2,3) and LAC-WM-(1,2) (two of the three stages; the
paper's wording of (1,2) also mentions FDM LoRA after the projector, we take its name's stages), EAC-WM-TFT (the new
action encoder through the frozen FDM first, then with FDM LoRA); every one with the same total of adaptation steps.

``--target-episodes N`` adapts (and trains EAC-WM-S) on N Franka training episodes only (the first N, or those
after ``--skip-episodes K``: another draw), the
setting the paper's adaptation is for (little data of the new robot); those checkpoints go to
``$LAWM_EVAL_CACHE/checkpoints/franka_held_out/``, not to ``baselines/``.

``--lora-rank R`` adapts with LoRA of rank R instead of the paper's 2 (the capacity ablation; the adapted models
only, checkpoints to the cache, named ``<name>_all_rankR.pt``); ``--lora-rank 0`` fine-tunes every weight of the
modules the LoRA would adapt instead (``<name>_all_full.pt``); ``--pretrain-steps N`` pretrains for N steps instead
of ``PRETRAIN_STEPS`` (checkpoints to the cache, ``..._preN.pt``), ``--adapt-steps N`` adapts (and trains EAC-WM-S)
for N steps instead of ``ADAPT_STEPS`` (``..._adaptN.pt``); the default writes the bundled checkpoints.

Losses are one-step and teacher-forced on single transitions, as in the Franka ``lac_wm`` recipe
(``train/lac_wm.py``); every model reads ``visual_ae_bfa``'s tokens, the autoencoder tuned on all four
domains' frames (Franka's included: the paper's V-JEPA 2 tokenizer has seen robot video too). The
bundled ``lac_wm`` and ``eac_wm`` train on Franka from the start and are not part of this comparison.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import torch
from torch import nn

from lawm_eval.errors import OneLineParser
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.train.bfa_world_models import (
    AUTOENCODER,
    CONFIG,
    FDM_LORA,
    STRIDE,
    adapt_eac,
    adapt_eac_two_stage,
    adapt_lac,
    adapted_with,
    eac_network,
    from_scratch_eac,
    lac_network,
    pretrain_eac,
    pretrain_lac,
)
from lawm_eval.models.train.data import Transitions, some_episodes, transitions
from lawm_eval.models.train.evaluate import evaluate_held_out, finish
from lawm_eval.models.train.loop import step_count
from lawm_eval.models.zoo import checkpoint_path, load_autoencoder
from lawm_eval.paths import cache_dir

TARGET = "franka"
PRETRAINING = ("navigation", "robodesk", "bfa")  # every embodiment but the target
# The paper: 80k pretraining, 60k adaptation iterations (A.5-A.6). Ours were 3,600 each until 2026-12-05, when
# pretraining on three embodiments was still improving (docs/models.md, "Does a longer pretraining rescue ..."):
# 9x and 3x those now, pretraining 3x as long as the adaptation (the paper: 4 to 3).
PRETRAIN_STEPS = 32400
ADAPT_STEPS = 10800  # EAC-WM-S's whole training too (the adaptation's budget)
NAMES = ("lac_wm_to_franka", "eac_wm_to_franka", "eac_wm_s_franka")
STRATEGIES = {  # LAC-WM A.6 / Table 5: name -> (the bundled model it is a variant of, its adaptation stages)
    "lac_wm_dft_to_franka": ("lac_wm_to_franka", (3,)),
    "lac_wm_23_to_franka": ("lac_wm_to_franka", (2, 3)),
    "lac_wm_12_to_franka": ("lac_wm_to_franka", (1, 2)),
    "eac_wm_tft_to_franka": ("eac_wm_to_franka", (1, 2)),  # encoder first, then encoder + FDM LoRA
}
KEYS = ("loss", "recon", "motion")
LORA_RANK = 2  # the paper's adaptation LoRA rank (§4.3); ``--lora-rank`` for the capacity ablation


def recipe_suffix(lora_rank: int = LORA_RANK, pretrain_steps: int = PRETRAIN_STEPS,
                  adapt_steps: int = ADAPT_STEPS) -> str:
    """How a run's recipe differs from the bundled one, as its checkpoint's name says it ("" for none)."""
    rank = "" if lora_rank == LORA_RANK else f"_rank{lora_rank}" if lora_rank else "_full"
    pretraining = "" if pretrain_steps == PRETRAIN_STEPS else f"_pre{pretrain_steps}"
    adaptation = "" if adapt_steps == ADAPT_STEPS else f"_adapt{adapt_steps}"
    return f"{rank}{pretraining}{adaptation}"


def is_bundled(name: str, episodes: int | None, lora_rank: int = LORA_RANK, pretrain_steps: int = PRETRAIN_STEPS,
               adapt_steps: int = ADAPT_STEPS) -> bool:
    """Whether this run writes the bundled checkpoint (``baselines/``) rather than one in the cache."""
    return not episodes and name not in STRATEGIES and not recipe_suffix(lora_rank, pretrain_steps, adapt_steps)


def checkpoint_file(name: str, episodes: int | None, skip: int = 0, lora_rank: int = LORA_RANK,
                    pretrain_steps: int = PRETRAIN_STEPS, adapt_steps: int = ADAPT_STEPS) -> Path:
    """Where this run's checkpoint is: the bundled one in ``baselines/``, or the cache's."""
    if is_bundled(name, episodes, lora_rank, pretrain_steps, adapt_steps):
        return checkpoint_path(name)
    return few_episodes_checkpoint(name, episodes, skip, lora_rank, pretrain_steps, adapt_steps)


def few_episodes_checkpoint(name: str, episodes: int | None, skip: int = 0, lora_rank: int = LORA_RANK,
                            pretrain_steps: int = PRETRAIN_STEPS, adapt_steps: int = ADAPT_STEPS) -> Path:
    """Where ``--target-episodes`` (after ``--skip-episodes``), a strategy ablation, another ``--lora-rank``,
    ``--pretrain-steps`` or ``--adapt-steps`` puts a checkpoint: the cache, not ``baselines/``."""
    size = f"{episodes}ep" if episodes else "all"
    return (cache_dir() / "checkpoints" / "franka_held_out"
            / f"{name}_{size}{f'_after{skip}' if skip else ''}{recipe_suffix(lora_rank, pretrain_steps, adapt_steps)}.pt")


def embodiment_transitions(name: str, autoencoder: nn.Module, split: str = "train", window: int = 1) -> Transitions:
    """An embodiment's windows in ``AUTOENCODER``'s tokens, as these models read them (BFA: 5-step action chunks)."""
    return transitions(name, autoencoder, window=window, split=split, stride=STRIDE if name == "bfa" else 1,
                       autoencoder_name=AUTOENCODER)


FAMILIES = ("lac", "lac_mdca", "eac")  # LAC-WM; LAC-WM without motion decoder and cross-augmentation (§6.3); EAC-WM


def pretrain(family: str, data: dict[str, Transitions], steps: int, action_dim: int,
             on_step: Callable[[nn.Module, int], None] | None = None, seed: int = 0,
             embodiments: tuple[str, ...] = PRETRAINING) -> tuple[nn.Module, list]:
    """The pretraining of a ``FAMILIES`` model on ``embodiments`` (``PRETRAINING``; others for analyses), from
    ``seed`` (``on_step(model, step)`` after every step)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}: expected one of {', '.join(FAMILIES)}")
    if family == "eac":
        return pretrain_eac(data, embodiments, steps, on_step=on_step, seed=seed)
    return pretrain_lac(data, embodiments, steps, motion=family == "lac", action_dim=action_dim, independent_a2=True,
                        on_step=on_step, seed=seed)


def pretrained(family: str, data: dict[str, Transitions], steps: int, action_dim: int) -> tuple[nn.Module, list]:
    """``pretrain``, cached in ``$LAWM_EVAL_CACHE/checkpoints/franka_held_out/`` (the model in training mode, its
    curve): it does not depend on how much target data follows (delete the file after changing the pretraining data
    or recipe)."""
    path = cache_dir() / "checkpoints" / "franka_held_out" / f"pretrained_{family}_{steps}.pt"
    if not path.exists():
        model, curve = pretrain(family, data, steps, action_dim)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state_dict": model.state_dict(), "curve": curve}, path)
        return model, curve
    payload = torch.load(path, weights_only=True)
    model = (eac_network({e: data[e].a.shape[-1] for e in PRETRAINING}) if family == "eac"
             else lac_network(action_dim))
    model.load_state_dict(payload["state_dict"], strict=True)
    return model.train(), payload["curve"]


def main(pretrain_steps: int = PRETRAIN_STEPS, adapt_steps: int = ADAPT_STEPS, names: tuple[str, ...] = NAMES,
         target_episodes: int | None = None, skip_episodes: int = 0, lora_rank: int = LORA_RANK) -> dict:
    """The checkpoints ``names`` (all three by default; any subset, to share the work between processes),
    adapted on every Franka training episode or on ``target_episodes`` of them after the first ``skip_episodes``,
    with LoRA of ``lora_rank`` (0: every weight of the modules the LoRA would adapt)."""
    autoencoder = load_autoencoder(AUTOENCODER)

    def tokens(name: str, split: str = "train", window: int = 1) -> Transitions:
        return embodiment_transitions(name, autoencoder, split, window)

    @cache
    def pretraining_data() -> dict[str, Transitions]:  # read once, whichever of the models ask for it
        return {e: tokens(e) for e in PRETRAINING}

    target, held = tokens(TARGET), tokens(TARGET, "held_out", window=3)  # held out: 1- and 3-step errors
    if target_episodes:
        target = some_episodes(target, target_episodes, skip_episodes)
    action_dim = target.a.shape[-1]
    results: dict[str, dict] = {}
    for name in names:
        tic = time.monotonic()
        base, stages = STRATEGIES.get(name, (name, None))
        if base == "lac_wm_to_franka":
            model, curve = pretrained("lac", pretraining_data(), pretrain_steps, action_dim)
            torch.manual_seed(1)  # LoRA's initial factors: the same whether pretraining ran or came from the cache
            curves = {"pretrain (3 embodiments)": curve,
                      **adapt_lac(model, target, adapt_steps, independent_a2=True, stages=stages or (1, 2, 3),
                                  lora_rank=lora_rank)}
            config = {**CONFIG, "action_dim": action_dim, "lora_rank": lora_rank, "idm_lora_rank": lora_rank,
                      "motion_labels": True,
                      "lora_layers": FDM_LORA}
            pretraining = list(PRETRAINING)
        elif base == "eac_wm_to_franka":
            data = pretraining_data()
            model, curve = pretrained("eac", data, pretrain_steps, action_dim)
            torch.manual_seed(1)
            curves = {"pretrain (3 embodiments)": curve,
                      **(adapt_eac_two_stage(model, target, adapt_steps, TARGET, lora_rank) if stages else
                         {f"adapt: new action encoder + FDM {adapted_with(lora_rank)}":
                          adapt_eac(model, target, adapt_steps, TARGET, lora_rank)})}
            embodiments = {e: data[e].a.shape[-1] for e in PRETRAINING} | {TARGET: action_dim}
            config = {**CONFIG, "embodiments": embodiments, "embodiment": TARGET, "lora_rank": lora_rank,
                      "lora_layers": FDM_LORA}
            pretraining = list(PRETRAINING)
        elif name == "eac_wm_s_franka":
            model, curve = from_scratch_eac(target, adapt_steps, TARGET)
            curves = {"from scratch on Franka": curve}
            config = {**CONFIG, "embodiments": {TARGET: action_dim}, "embodiment": TARGET}
            pretraining = []
        else:
            raise ValueError(f"unknown checkpoint {name!r}: expected one of {', '.join((*NAMES, *STRATEGIES))}")
        extra = {"pretraining": pretraining, "held_out_embodiment": TARGET, "target_windows": len(target),
                 "target_episodes": target_episodes or "all", "skipped_episodes": skip_episodes,
                 "pretrain_steps": pretrain_steps if pretraining else 0, "adapt_steps": adapt_steps,
                 "train_seconds": round(time.monotonic() - tic, 1), **({"stages": list(stages)} if stages else {}),
                 **({"lora_rank": lora_rank} if pretraining else {})}
        if is_bundled(name, target_episodes, lora_rank, pretrain_steps, adapt_steps):
            results[name] = finish(name, model, config, curves, KEYS, held, TARGET, autoencoder, extra)
            continue
        model.eval()
        results[name] = {**evaluate_held_out(model, held), **extra}
        path = few_episodes_checkpoint(name, target_episodes, skip_episodes, lora_rank, pretrain_steps, adapt_steps)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_model(path, base, model, config, {"metrics": results[name]})  # loads as the model it varies
        path.with_suffix(".json").write_text(json.dumps(results[name], indent=2) + "\n")
    return results


if __name__ == "__main__":
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", nargs="+", choices=(*NAMES, *STRATEGIES), default=list(NAMES))
    parser.add_argument("--target-episodes", type=int, default=None,
                        help="adapt on N Franka training episodes (checkpoints to the cache)")
    parser.add_argument("--skip-episodes", type=int, default=0, help="take them after the first K episodes")
    parser.add_argument("--lora-rank", type=int, default=LORA_RANK,
                        help=f"the adaptation's LoRA rank (the paper's: {LORA_RANK}; 0: full fine-tuning of the same "
                             "modules; others go to the cache)")
    parser.add_argument("--pretrain-steps", type=step_count, default=PRETRAIN_STEPS,
                        help=f"pretraining steps (the bundled: {PRETRAIN_STEPS}; others go to the cache)")
    parser.add_argument("--adapt-steps", type=step_count, default=ADAPT_STEPS,
                        help=f"adaptation steps, EAC-WM-S's training too (the bundled: {ADAPT_STEPS}; others go to "
                             "the cache)")
    args = parser.parse_args()
    if args.lora_rank < 0:
        parser.error(f"--lora-rank: {args.lora_rank} is not a rank (0 for full fine-tuning, or a positive rank)")
    pretraining_only = {"--lora-rank": ("LoRA", args.lora_rank != LORA_RANK),
                        "--pretrain-steps": ("pretraining", args.pretrain_steps != PRETRAIN_STEPS)}
    for flag, (what, asked) in pretraining_only.items():
        if asked and "eac_wm_s_franka" in args.names:
            parser.error(f"{flag}: eac_wm_s_franka is trained from scratch and has no {what}; name the adapted models "
                         "with --names (lac_wm_to_franka, eac_wm_to_franka or a strategy)")
    torch.set_num_threads(1)
    print(json.dumps(main(names=tuple(args.names), target_episodes=args.target_episodes,
                          skip_episodes=args.skip_episodes, lora_rank=args.lora_rank,
                          pretrain_steps=args.pretrain_steps, adapt_steps=args.adapt_steps), indent=2))
