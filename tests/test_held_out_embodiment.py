"""LAC-WM's comparison with an embodiment held out of pretraining (``train/franka_held_out.py`` and the shared
steps in ``train/bfa_world_models.py``): the target never reaches pretraining, and each adaptation trains only
what the paper's stages train (LAC-WM §3.2: LoRA on IDM and FDM, then the projector, then projector + FDM LoRA;
EAC-WM A.6: a new action encoder + FDM LoRA)."""

from __future__ import annotations

import copy

import torch

from lawm_eval.models.specs import bundled_specs
from lawm_eval.models.train import franka_held_out
from lawm_eval.models.train.bfa_world_models import (
    adapt_eac,
    adapt_eac_two_stage,
    adapt_lac,
    from_scratch_eac,
    pretrain_eac,
    pretrain_lac,
)
from lawm_eval.models.train.data import Transitions


def fake(embodiment: str, action_dim: int, state_dim: int, n: int = 32, seed: int = 0) -> Transitions:
    """Random one-transition windows: tokens (n,2,16,32), actions (n,1,A), states (n,2,S)."""
    g = torch.Generator().manual_seed(seed)
    return Transitions(torch.randn(n, 2, 16, 32, generator=g), torch.randn(n, 1, action_dim, generator=g),
                       torch.randn(n, 2, state_dim, generator=g), torch.zeros(n, dtype=torch.long), embodiment)


PRETRAINING = {"navigation": fake("navigation", 3, 3, seed=1), "bfa": fake("bfa", 125, 8, seed=2)}
TARGET = fake("franka", 7, 8, seed=3)


def plain(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict with LoRA's wrapped layers under their original names, LoRA's own factors left out."""
    return {k.replace(".base.", "."): v.clone() for k, v in state.items() if "lora_" not in k}


def changed(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> set[str]:
    return {k for k in before if not torch.equal(before[k], after[k])}


def test_the_franka_recipe_leaves_franka_out_of_pretraining_and_names_its_three_checkpoints():
    assert franka_held_out.TARGET not in franka_held_out.PRETRAINING
    assert set(franka_held_out.PRETRAINING) == {"navigation", "robodesk", "bfa"}
    written = {name for name, spec in bundled_specs().items() if spec.bundled.script.endswith(".franka_held_out")}
    assert written == set(franka_held_out.NAMES)


def test_lac_wm_adaptation_trains_only_lora_and_the_projector():
    model, _ = pretrain_lac(PRETRAINING, tuple(PRETRAINING), steps=2, action_dim=7, independent_a2=True)
    before = plain(model.state_dict())
    adapt_lac(model, TARGET, steps=12, independent_a2=True)
    after = model.state_dict()
    assert any("lora_" in k and k.startswith("idm.") for k in after)  # stage 1 wraps the IDM
    assert any("lora_" in k and k.startswith("fdm.") for k in after)  # and the FDM
    moved = changed(before, plain(after))
    assert moved and all(k.startswith(("projector.", "normalizer.")) for k in moved), moved
    lora = [v for k, v in after.items() if "lora_b" in k]
    assert all(v.abs().sum() > 0 for v in lora)  # every LoRA update trained away from its zero start


def test_eac_wm_adaptation_adds_an_action_encoder_and_lora_and_keeps_the_pretrained_ones():
    model, _ = pretrain_eac(PRETRAINING, tuple(PRETRAINING), steps=2)
    before = plain(model.state_dict())
    adapt_eac(model, TARGET, steps=3, embodiment="franka")
    after = plain(model.state_dict())
    assert model.embodiment == "franka" and set(model.encoders) == {"navigation", "bfa", "franka"}
    assert not changed(before, after)  # pretrained encoders and the FDM's base weights untouched
    new = {k for k in after if k not in before}
    assert any("franka" in k for k in new)
    assert any("lora_" in k for k in model.state_dict())


def test_lac_wm_strategy_ablations_run_only_their_stages_in_the_papers_proportions(monkeypatch):
    """Table 5's LAC-WM-DFT / -(2,3) / -(1,2): only the named stages run, sharing the same total of steps as
    20 : 5 : 35 shares them; stage 1 alone moves the LoRA of the IDM, stage 2 alone trains the projector with the
    FDM's LoRA still at its zero start; the full recipe is the three stages."""
    from lawm_eval.models.train import bfa_world_models, loop

    calls = []

    def record(params, loss_fn, n, **kwargs):
        calls.append(n)
        return loop.train(params, loss_fn, min(n, 2), **kwargs)

    monkeypatch.setattr(bfa_world_models, "train", record)
    for stages, expected in (((1, 2, 3), [20, 5, 35]), ((3,), [60]), ((2, 3), [8, 52]), ((1, 2), [48, 12])):
        model, _ = pretrain_lac(PRETRAINING, tuple(PRETRAINING), steps=1, action_dim=7, independent_a2=True)
        calls.clear()
        curves = adapt_lac(model, TARGET, steps=60, independent_a2=True, stages=stages)
        assert calls == expected and len(curves) == len(stages)
        state = model.state_dict()
        idm_lora = [v for k, v in state.items() if k.startswith("idm.") and "lora_b" in k]
        fdm_lora = [v for k, v in state.items() if k.startswith("fdm.") and "lora_b" in k]
        assert all(v.abs().sum() > 0 for v in idm_lora) == (1 in stages)
        assert any(v.abs().sum() > 0 for v in fdm_lora) == (1 in stages or 3 in stages)


def test_eac_wm_tft_trains_the_new_encoder_through_the_frozen_fdm_before_its_lora(monkeypatch):
    """EAC-WM-TFT: stage 1 moves only the new action encoder (FDM LoRA still zero), stage 2 the encoder and LoRA;
    5 : 35 of the steps."""
    from lawm_eval.models.train import bfa_world_models, loop

    model, _ = pretrain_eac(PRETRAINING, tuple(PRETRAINING), steps=2)
    lora_after_first = []

    def record(params, loss_fn, n, **kwargs):
        curve = loop.train(params, loss_fn, 2, **kwargs)
        lora_after_first.append((n, sum(float(v.abs().sum()) for k, v in model.state_dict().items() if "lora_b" in k)))
        return curve

    monkeypatch.setattr(bfa_world_models, "train", record)
    curves = adapt_eac_two_stage(model, TARGET, steps=40, embodiment="franka")
    assert list(curves) == ["adapt 1: new action encoder, FDM frozen", "adapt 2: action encoder + FDM LoRA"]
    (first, lora1), (second, lora2) = lora_after_first
    assert (first, second) == (5, 35) and lora1 == 0 and lora2 > 0
    assert model.embodiment == "franka"


def test_strategy_checkpoints_go_to_the_cache_and_run_as_the_model_they_vary(tmp_path, monkeypatch):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    for name, (base, stages) in franka_held_out.STRATEGIES.items():
        assert base in franka_held_out.NAMES and stages
        path = franka_held_out.few_episodes_checkpoint(name, None)
        assert path.parent == tmp_path / "checkpoints" / "franka_held_out" and path.name == f"{name}_all.pt"
    assert franka_held_out.few_episodes_checkpoint("lac_wm_dft_to_franka", 3, 50).name == "lac_wm_dft_to_franka_3ep_after50.pt"


def test_eac_wm_s_knows_only_the_target():
    model, curve = from_scratch_eac(TARGET, steps=2, embodiment="franka")
    assert set(model.encoders) == {"franka"} and model.embodiment == "franka" and len(curve) >= 1


def test_cached_pretraining_comes_back_as_it_was_trained(tmp_path, monkeypatch):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    data = {**PRETRAINING, "robodesk": fake("robodesk", 5, 76, seed=4)}
    for family in ("lac", "eac"):
        trained, curve = franka_held_out.pretrained(family, data, steps=2, action_dim=7)
        cached, cached_curve = franka_held_out.pretrained(family, data, steps=2, action_dim=7)
        assert trained is not cached and cached.training and cached_curve == curve
        assert trained.state_dict().keys() == cached.state_dict().keys()
        assert all(torch.equal(v, cached.state_dict()[k]) for k, v in trained.state_dict().items())


def test_some_episodes_keeps_the_windows_of_the_episodes_asked_for_only():
    from lawm_eval.models.train.data import some_episodes, windows

    lengths = (5, 3, 4)  # frames per episode: 4, 2 and 3 one-step windows
    xs = [torch.full((n, 16, 32), float(e)) for e, n in enumerate(lengths)]
    data = windows(xs, [torch.zeros(n, 7) for n in lengths], [torch.zeros(n, 8) for n in lengths], [0, 0, 0], "franka")
    two = some_episodes(data, 2)
    assert len(data) == 9 and len(two) == 6
    assert set(two.x[:, 0, 0, 0].tolist()) == {0.0, 1.0} and two.start.tolist() == [0, 1, 2, 3, 0, 1]
    assert len(some_episodes(data, 10)) == len(data)
    last = some_episodes(data, 5, skip=2)
    assert set(last.x[:, 0, 0, 0].tolist()) == {2.0} and last.start.tolist() == [0, 1, 2]


def test_the_lora_rank_ablation_adapts_at_its_rank_and_goes_to_the_cache(tmp_path, monkeypatch):
    """``--lora-rank``: LAC-WM's IDM and FDM LoRA and EAC-WM's FDM LoRA at the asked rank (the paper's 2 by default);
    such a checkpoint is named by its rank and never replaces a bundled one."""
    model, _ = pretrain_lac(PRETRAINING, tuple(PRETRAINING), steps=1, action_dim=7, independent_a2=True)
    adapt_lac(model, TARGET, steps=3, independent_a2=True, lora_rank=5)
    ranks = {v.shape[0] for k, v in model.state_dict().items() if k.endswith("lora_a")}
    assert ranks == {5} and model.lora_rank == model.idm_lora_rank == 5
    eac, _ = pretrain_eac(PRETRAINING, tuple(PRETRAINING), steps=1)
    adapt_eac(eac, TARGET, steps=2, embodiment="franka", lora_rank=5)
    assert {v.shape[0] for k, v in eac.state_dict().items() if k.endswith("lora_a")} == {5}
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    assert franka_held_out.LORA_RANK == 2
    assert franka_held_out.few_episodes_checkpoint("lac_wm_to_franka", None, lora_rank=16).name == \
        "lac_wm_to_franka_all_rank16.pt"
    assert franka_held_out.few_episodes_checkpoint("lac_wm_to_franka", 3).name == "lac_wm_to_franka_3ep.pt"


def test_another_pretraining_length_goes_to_the_cache_named_by_its_steps(tmp_path, monkeypatch):
    """``--pretrain-steps`` / ``--adapt-steps``: a checkpoint trained for other numbers of steps never replaces a
    bundled one."""
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    steps = franka_held_out.PRETRAIN_STEPS
    assert franka_held_out.few_episodes_checkpoint("lac_wm_to_franka", None, pretrain_steps=steps).name == \
        "lac_wm_to_franka_all.pt"
    path = franka_held_out.few_episodes_checkpoint("eac_wm_to_franka", None, lora_rank=0, pretrain_steps=3 * steps)
    assert path.parent == tmp_path / "checkpoints" / "franka_held_out"
    assert path.name == f"eac_wm_to_franka_all_full_pre{3 * steps}.pt"
    data = {**PRETRAINING, "robodesk": fake("robodesk", 5, 76, seed=4)}
    monkeypatch.setattr(franka_held_out, "load_autoencoder", lambda name: None)
    monkeypatch.setattr(franka_held_out, "embodiment_transitions",
                        lambda name, autoencoder, split="train", window=1: TARGET if name == "franka" else data[name])
    monkeypatch.setattr(franka_held_out, "evaluate_held_out", lambda model, held: {"held_out_mse": 0.0})

    def bundled(*args, **kwargs):
        raise AssertionError("a bundled checkpoint was written")

    monkeypatch.setattr(franka_held_out, "finish", bundled)
    results = franka_held_out.main(pretrain_steps=2, adapt_steps=2, names=("eac_wm_to_franka",))
    assert results["eac_wm_to_franka"]["pretrain_steps"] == 2
    assert (tmp_path / "checkpoints" / "franka_held_out" / "eac_wm_to_franka_all_pre2_adapt2.pt").is_file()
    assert (tmp_path / "checkpoints" / "franka_held_out" / "pretrained_eac_2.pt").is_file()
    # ``--adapt-steps`` alone: EAC-WM-S's budget too, named by its steps, never the bundled checkpoint
    results = franka_held_out.main(adapt_steps=3, names=("eac_wm_s_franka",))
    assert results["eac_wm_s_franka"]["adapt_steps"] == 3
    assert (tmp_path / "checkpoints" / "franka_held_out" / "eac_wm_s_franka_all_adapt3.pt").is_file()


def test_lora_rank_0_fine_tunes_every_weight_of_the_adapted_modules_and_goes_to_the_cache(tmp_path, monkeypatch):
    """``--lora-rank 0``: LAC-WM's stage 1 trains every IDM and FDM parameter, stage 2 the projector alone (FDM frozen),
    stage 3 the projector and every FDM parameter; the motion decoder stays frozen and no LoRA factors appear. EAC-WM's
    adaptation trains every FDM parameter beside its new encoder (TFT: the encoder alone first), the pretrained
    encoders untouched. Such a checkpoint loads back as a plain model and is named ``_full``."""
    from lawm_eval.models.checkpoint import load_model, save_model
    from lawm_eval.models.lac_wm import LACWM
    from lawm_eval.models.train import bfa_world_models

    pretrained, _ = pretrain_lac(PRETRAINING, tuple(PRETRAINING), steps=1, action_dim=7, independent_a2=True)
    idm_fdm = {k for k in pretrained.state_dict() if k.startswith(("idm.", "fdm."))}
    fdm = {k for k in idm_fdm if k.startswith("fdm.")}
    assert any(k.endswith("bias") for k in fdm) and "idm.query" in idm_fdm
    for stages, moves, stays in (((1,), idm_fdm, {"projector."}), ((2,), {"projector.0.weight"}, idm_fdm),
                                 ((3,), fdm | {"projector.0.weight"}, {"idm."})):
        model = copy.deepcopy(pretrained)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        adapt_lac(model, TARGET, steps=6, independent_a2=True, stages=stages, lora_rank=0)
        moved = changed(before, model.state_dict())
        assert moves <= moved, (stages, sorted(moves - moved)[:5])
        assert not any(k.startswith(tuple(stays)) or k in stays for k in moved), (stages, sorted(moved)[:5])
        assert not any(k.startswith("motion.") for k in moved) and not any("lora_" in k for k in model.state_dict())
    assert model.lora_rank == model.idm_lora_rank == 0
    path = save_model(tmp_path / "full.pt", "lac_wm_to_franka", model,
                      {**bfa_world_models.CONFIG, "action_dim": 7, "lora_rank": 0, "idm_lora_rank": 0,
                       "motion_labels": True, "lora_layers": bfa_world_models.FDM_LORA})
    loaded, _ = load_model(path, "lac_wm_to_franka", LACWM)
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
    for adapt in (adapt_eac, adapt_eac_two_stage):
        eac, _ = pretrain_eac(PRETRAINING, tuple(PRETRAINING), steps=1)
        before = {k: v.clone() for k, v in eac.state_dict().items()}
        adapt(eac, TARGET, steps=4, embodiment="franka", lora_rank=0)
        moved = changed(before, eac.state_dict())
        assert {k for k in before if k.startswith("fdm.")} <= moved
        assert not any("lora_" in k for k in eac.state_dict()) and not any(k.startswith("encoders.") for k in moved)
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    assert franka_held_out.few_episodes_checkpoint("eac_wm_to_franka", None, lora_rank=0).name == \
        "eac_wm_to_franka_all_full.pt"


def test_the_comparison_script_with_another_recipe_trains_it_into_the_cache_never_over_a_bundled_checkpoint(
        tmp_path, monkeypatch):
    """``scripts/held_out_embodiment.py --pretrain-steps N --adapt-steps M``: every size, 110 episodes included,
    reads (and trains when missing) the cache's checkpoint of that recipe; the bundled recipe's 110 episodes are
    ``baselines/``."""
    from lawm_eval.models.zoo import checkpoint_path
    from tests.scripts_loader import load_script

    script = load_script("held_out_embodiment")
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    trained = []
    monkeypatch.setattr(franka_held_out, "main", lambda **kwargs: trained.append(kwargs))
    earlier = script.Steps(3600, 3600)
    path = script.checkpoint("lac_wm_to_franka", None, 0, earlier)
    assert path == tmp_path / "checkpoints" / "franka_held_out" / "lac_wm_to_franka_all_pre3600_adapt3600.pt"
    assert trained == [{"names": ("lac_wm_to_franka",), "target_episodes": None, "skip_episodes": 0,
                        "pretrain_steps": 3600, "adapt_steps": 3600}]
    assert script.checkpoint("eac_wm_s_franka", 3, 50, earlier).name == "eac_wm_s_franka_3ep_after50_pre3600_adapt3600.pt"
    assert script.checkpoint("lac_wm_to_franka", None) == checkpoint_path("lac_wm_to_franka")  # the bundled
    assert script.BUNDLED == (franka_held_out.PRETRAIN_STEPS, franka_held_out.ADAPT_STEPS)
    assert not franka_held_out.is_bundled("lac_wm_dft_to_franka", None)  # a strategy is never bundled
