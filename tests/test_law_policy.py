"""LAW's defining mechanism (lawm_eval/models/train/law_policy.py): the policy's latent actions are
trained by the world model's loss, end to end; the IDM contrast clones an inverse model's latents
instead; fine-tuning re-initialises only the head's last layer. And the bundled policy's golden chunk."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lawm_eval.models.law import LAW
from lawm_eval.models.libero_bc import LiberoBC
from lawm_eval.models.train import law_policy as lp
from lawm_eval.models.train import libero_bc as bc

N = 16


def samples() -> lp.VideoSamples:
    g = torch.Generator().manual_seed(0)
    return lp.VideoSamples(torch.randint(0, 255, (N, 3, 64, 64), dtype=torch.uint8, generator=g), torch.randn(N, 8, generator=g),
                           torch.zeros(N, dtype=torch.long), torch.randn(N, lp.LATENTS + 1, 16, 32, generator=g),
                           torch.randn(N, 7, generator=g))


def pretraining() -> lp.Pretraining:
    torch.manual_seed(0)
    return lp.Pretraining(LiberoBC(["task"], **bc.CONFIG), LAW(**lp.RSSM))


def head_gradient(model: lp.Pretraining, loss: torch.Tensor) -> float:
    model.zero_grad()
    loss.backward()
    grad = model.policy.head[-1].weight.grad
    return 0.0 if grad is None else float(grad.abs().sum())


def test_law_trains_the_policys_latents_through_the_world_model():
    model, data = pretraining(), samples()
    frames, tasks, states, x = data.batch(8, torch.Generator().manual_seed(1))
    latents = model.latents(frames, tasks, states)
    assert latents.shape == (8, lp.LATENTS, lp.LATENT_DIM) and latents.abs().max() <= 1
    recon, kl = model.world.filtering_loss(x, latents, torch.Generator().manual_seed(2))
    assert head_gradient(model, recon) > 0  # the reconstruction reaches the policy: end to end


def test_the_idm_contrast_clones_detached_inverse_latents():
    model, data = pretraining(), samples()
    frames, tasks, states, x = data.batch(8, torch.Generator().manual_seed(1))
    inverse = torch.stack([model.world.idm_latent(x[:, k], x[:, k + 1]) for k in range(lp.LATENTS)], dim=1)
    recon, _ = model.world.filtering_loss(x, inverse, torch.Generator().manual_seed(2))
    assert head_gradient(model, recon) == 0  # the world model never trains the policy here
    loss, logs = model.loss(data, end_to_end=False, generator=torch.Generator().manual_seed(3))
    assert "imitation" in logs and head_gradient(model, loss) > 0  # only the cloning loss does
    assert model.world.inverse[0][0].weight.grad.abs().sum() > 0  # and the inverse model trains through the RSSM


def test_the_cloning_loss_leaves_the_inverse_model_alone(monkeypatch):
    """The IDM's latents are the policy's targets, detached: cloning them must not move the IDM."""
    model = pretraining()
    monkeypatch.setattr(model.world, "filtering_loss", lambda x, latents, g: (torch.zeros(()), torch.zeros(())))
    loss, _ = model.loss(samples(), end_to_end=False, generator=torch.Generator().manual_seed(3))
    model.zero_grad()
    loss.backward()  # the imitation term alone
    assert model.policy.head[-1].weight.grad.abs().sum() > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.world.inverse.parameters())


def test_fine_tuning_replaces_only_the_heads_last_layer():
    labelled = bc.ChunkSamples(torch.randint(0, 255, (N, 3, 64, 64), dtype=torch.uint8), torch.randn(N, 8),
                               torch.zeros(N, dtype=torch.long), torch.randn(N, 8, 7))
    model = pretraining()
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    policy = model.policy
    lp.fine_tune(policy, labelled, steps=0)
    assert policy.head[-1].out_features == bc.CONFIG["chunk"] * 7
    after = policy.state_dict()
    last = f"head.{len(policy.head) - 1}."  # the head's last Linear
    kept = [k for k in before if not k.startswith(last)]
    assert all(torch.equal(before[k], after[k]) for k in kept)  # the pretrained trunk is what fine-tuning starts from
    assert before[f"{last}weight"].shape != after[f"{last}weight"].shape


def test_the_bundled_law_policy_recomputes_its_golden_chunk():
    from lawm_eval.models.train.artifacts import load_golden
    from lawm_eval.models.zoo import build_bundled

    policy = build_bundled("law_policy_libero").policy.network
    frame, state = bc.golden_input(policy.image_size)
    chunk = policy.actions(frame, torch.tensor([0]), state)[0]
    golden = load_golden("law_policy_libero")
    assert chunk.numpy().ravel().tolist() == pytest.approx(np.ravel(golden["first_chunk"]).tolist(), rel=1e-4, abs=1e-5)
