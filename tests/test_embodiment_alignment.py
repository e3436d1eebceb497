"""scripts/embodiment_alignment.py (LAC-WM §5 measured): which embeddings each model gives, and the transfer
measures on closed forms: own embeddings move the prediction as much as themselves, an FDM that ignores its
latent is not moved at all, and the summary factor is the geometric mean of max(r, 1/r)."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.metrics.latent import embodiment_identification
from lawm_eval.models.train import franka_held_out
from lawm_eval.models.train.bfa_world_models import eac_network, lac_network
from lawm_eval.models.train.data import Transitions
from tests.scripts_loader import load_script

script = load_script("embodiment_alignment")
DIMS = {"navigation": 3, "robodesk": 5, "bfa": 125}


def trained_looking(model: torch.nn.Module) -> torch.nn.Module:
    """Every weight drawn afresh (a fresh FDM's zero-initialised conditioning would ignore its latent)."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(0.2 * torch.randn(parameter.shape, generator=generator))
    return model.eval()


def synthetic(n: int = 40, seed: int = 0) -> dict[str, Transitions]:
    generator = torch.Generator().manual_seed(seed)
    return {name: Transitions(torch.randn(n, 2, 16, 32, generator=generator),
                              torch.randn(n, 1, dim, generator=generator), torch.randn(n, 2, 76, generator=generator),
                              torch.zeros(n, dtype=torch.long), name) for name, dim in DIMS.items()}


def test_embeddings_are_the_idms_latents_or_each_embodiments_own_encoder():
    data = synthetic()
    torch.manual_seed(0)
    lac, eac = lac_network(7).eval(), eac_network(DIMS).eval()
    with torch.no_grad():
        assert torch.equal(script.embeddings(lac, "lac", data["robodesk"]),
                           lac.idm(data["robodesk"].x[:, 0], data["robodesk"].x[:, 1]))
        assert torch.equal(script.embeddings(eac, "eac", data["bfa"]),
                           eac.encoders["bfa"](eac.normalizers["bfa"](data["bfa"].a[:, 0])))


def test_balanced_draws_as_many_of_each_embodiment_as_the_smallest_set_has():
    data = synthetic()
    data["navigation"] = Transitions(*(t[:25] for t in (data["navigation"].x, data["navigation"].a,
                                                        data["navigation"].s, data["navigation"].task)), "navigation")
    assert {len(d) for d in script.balanced(data).values()} == {25}


def test_transfer_against_closed_forms():
    data = synthetic()
    torch.manual_seed(0)
    model = trained_looking(lac_network(7))
    z = {name: script.embeddings(model, "lac", d) for name, d in data.items()}
    result = script.transfer(model, data, z)
    for name in DIMS:
        assert result[f"{name}->{name}"]["relative_response"] == pytest.approx(1.0)
    frames, latents = data["bfa"].x[:8, 0], z["navigation"][:5]
    predictions = script.imagined(model, frames, latents)
    with torch.no_grad():  # (frame i, embedding j) is the FDM on frame i with latent j
        assert torch.allclose(predictions[3, 2], model.predict_next(frames[3:4], latents[2:3])[0], atol=1e-6)
    variance = torch.stack([predictions[i].var(dim=0) for i in range(8)]).mean()
    assert script.response(predictions) == pytest.approx(float(variance), rel=1e-5)

    pairs = {"a->a": {"relative_response": 1.0}, "a->b": {"relative_response": 4.0},
             "b->a": {"relative_response": 0.25}, "b->b": {"relative_response": 1.0}}
    assert script.off_by(pairs) == pytest.approx(4.0)  # 4 and 1/4 are both 4 times off; own pairs left out
    pairs["b->a"]["relative_response"] = 1.0
    assert script.off_by(pairs) == pytest.approx(2.0)


def test_an_fdm_that_ignores_its_latent_is_not_moved(monkeypatch):
    data = synthetic()
    torch.manual_seed(0)
    model = trained_looking(eac_network(DIMS))
    z = {name: script.embeddings(model, "eac", d) for name, d in data.items()}
    moved = script.transfer(model, data, z)
    assert all(cell["response"] > 0 for cell in moved.values())
    monkeypatch.setattr(model, "predict_next", lambda x_t, latent: x_t * 0.5)
    still = script.transfer(model, {"bfa": data["bfa"], "robodesk": data["robodesk"]}, z)
    assert still["robodesk->bfa"]["response"] == 0.0
    assert still["robodesk->bfa"]["relative_response"] != still["robodesk->bfa"]["relative_response"]  # nan


def test_follow_measures_every_n_steps_in_eval_mode_and_hands_the_model_back_training(monkeypatch):
    data = synthetic()
    torch.manual_seed(0)
    model = trained_looking(lac_network(7)).train()
    modes = []

    def fake_pretrain(family, train, steps, action_dim, on_step, seed, embodiments):
        assert (seed, embodiments) == (5, tuple(data))  # the run's seed, the embodiments it was given
        for step in range(1, steps + 1):
            modes.append(model.training)  # every step trains
            on_step(model, step)
        return model, []

    monkeypatch.setattr(franka_held_out, "pretrain", fake_pretrain)
    points = script.follow("lac", data, data, steps=7, every=3, seed=5)
    assert [p["step"] for p in points] == [3, 6]
    assert all(modes) and model.training
    z = {name: script.embeddings(model.eval(), "lac", d) for name, d in data.items()}
    stacked, labels = torch.cat(list(z.values())).numpy(), [n for n, v in z.items() for _ in range(len(v))]
    assert points[-1]["identification"] == embodiment_identification(stacked, labels)["accuracy"]


def test_an_unknown_pretraining_family_is_refused():
    with pytest.raises(ValueError, match="unknown family 'lac_md'"):
        franka_held_out.pretrain("lac_md", {}, 10, 7)


def test_outputs_are_named_after_what_differs_from_the_cached_run():
    default = franka_held_out.PRETRAINING
    assert script.output_suffix(False, 0, default, script.STEPS) == ""
    assert script.output_suffix(True, 0, default, script.STEPS) == "_bundled"
    assert script.STEPS == 3600  # the committed study's budget, not the bundled recipe's (32,400)
    assert script.output_suffix(False, 0, default, franka_held_out.PRETRAIN_STEPS) == "_32400steps"
    assert script.output_suffix(False, 1, ("franka", "navigation"), 800) == "_seed1_franka_navigation_800steps"


def test_another_embodiments_embeddings_are_measured_against_the_targets_own():
    """An FDM that adds the latent's mean to the frame: embeddings twice as large move it 4 times as much."""
    data = {name: d for name, d in synthetic().items() if name != "bfa"}  # 40 of each: every embedding is used
    model = trained_looking(lac_network(7))
    model.predict_next = lambda x_t, latent: x_t + latent.mean(1)[:, None, None]
    u = torch.randn(40, 16, generator=torch.Generator().manual_seed(2))
    result = script.transfer(model, data, {"navigation": u, "robodesk": 2 * u})
    assert result["robodesk->navigation"]["relative_response"] == pytest.approx(4.0, rel=1e-5)
    assert result["navigation->robodesk"]["relative_response"] == pytest.approx(0.25, rel=1e-5)
    assert script.off_by(result) == pytest.approx(4.0, rel=1e-5)


@pytest.mark.parametrize("family", ["lac", "lac_mdca", "eac"])
def test_each_family_pretrains_with_its_own_recipe(monkeypatch, family):
    calls = []
    monkeypatch.setattr(franka_held_out, "pretrain_lac", lambda *args, **kw: calls.append(("lac", args, kw)))
    monkeypatch.setattr(franka_held_out, "pretrain_eac", lambda *args, **kw: calls.append(("eac", args, kw)))
    franka_held_out.pretrain(family, {}, 5, 7, seed=3, embodiments=("robodesk", "bfa"))
    (kind, args, kw), = calls
    assert kind == ("eac" if family == "eac" else "lac") and args[1:] == (("robodesk", "bfa"), 5)
    assert kw["seed"] == 3
    if family != "eac":  # LAC-WM-MD-CA: no motion decoder, no cross-augmentation
        assert kw["motion"] is (family == "lac") and kw["independent_a2"] is True


def test_pretraining_follows_its_seed_and_reports_every_step():
    from lawm_eval.models.train.bfa_world_models import pretrain_eac, pretrain_lac

    data = synthetic(n=70)

    def weights(model):
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    steps = []
    first = pretrain_lac(data, ("navigation", "robodesk"), 2, motion=False, action_dim=7, seed=0,
                         on_step=lambda model, step: steps.append(step))
    again = pretrain_lac(data, ("navigation", "robodesk"), 2, motion=False, action_dim=7, seed=0)
    other = pretrain_lac(data, ("navigation", "robodesk"), 2, motion=False, action_dim=7, seed=1)
    assert steps == [1, 2]
    assert torch.equal(weights(first[0]), weights(again[0])) and not torch.equal(weights(first[0]), weights(other[0]))
    seen = []
    eac, _ = pretrain_eac(data, ("navigation", "robodesk"), 2, on_step=lambda model, step: seen.append((model, step)),
                          seed=1)
    assert [step for _, step in seen] == [1, 2] and all(model is eac for model, _ in seen)
