"""LAC-WM's comparison with an embodiment held out of pretraining (``train/franka_held_out.py`` and the shared
steps in ``train/bfa_world_models.py``): the target never reaches pretraining, and each adaptation trains only
what the paper's stages train (LAC-WM §3.2: LoRA on IDM and FDM, then the projector, then projector + FDM LoRA;
EAC-WM A.6: a new action encoder + FDM LoRA)."""

from __future__ import annotations

import torch

from lawm_eval.models.specs import bundled_specs
from lawm_eval.models.train import franka_held_out
from lawm_eval.models.train.bfa_world_models import (
    adapt_eac,
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
