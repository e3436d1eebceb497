"""The bundled model architectures: interface shapes, structural pieces (masks, LoRA, VQ), and
that each training objective decreases on a batch."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.interfaces import ActionController, LatentActionModel, WorldModel
from lawm_eval.models.blocks import LoRALinear, VectorQuantizer, add_lora
from lawm_eval.models.cola_world import CoLAWorld
from lawm_eval.models.eac_wm import EACWM
from lawm_eval.models.lac_wm import LACWM, block_causal_mask
from lawm_eval.models.lam_variants import RegularisedLAM, variance_covariance_mean
from lawm_eval.models.law import LAW
from lawm_eval.models.lawm import LaWAMPolicy, LaWM
from lawm_eval.models.visual import VisualAutoencoder
from lawm_eval.models.vla import FlowMatchingPolicy

MODELS = {
    "lac_wm": lambda: LACWM(dim=32),
    "lawm": lambda: LaWM(dim=32),
    "cola_world": lambda: CoLAWorld(dim=32),
    "law": lambda: LAW(hidden=32),
    "lam_sparse": lambda: RegularisedLAM("sparse", dim=32),
    "lam_noisy": lambda: RegularisedLAM("noisy", dim=32),
    "lam_discrete": lambda: RegularisedLAM("discrete", dim=32),
}


def tokens(b: int = 3, t: int = 1, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, t, 16, 32, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_interface_shapes(name):
    model = MODELS[name]().eval()
    assert isinstance(model, LatentActionModel) and isinstance(model, WorldModel) and isinstance(model, ActionController)
    states = tokens(2, 4)
    latents = model.infer(states)
    assert latents.shape == (2, 3, model.latent_dim)
    assert model.step(states[:, :2], latents[:, :1]).shape == (2, 1, 16, 32)
    assert model.rollout(states[:, :1], latents).shape == (2, 3, 16, 32)
    actions = torch.randn(2, 3, 7)
    assert model.to_latent(actions, states[:, :3]).shape == (2, 3, model.latent_dim)


def test_eac_wm_has_per_embodiment_encoders_and_no_idm():
    model = EACWM(dim=32).eval()
    assert model.to_latent(torch.randn(2, 3, 7), None).shape == (2, 3, 16)
    model.use("navigation")
    assert model.to_latent(torch.randn(2, 3, 3), None).shape == (2, 3, 16)
    assert not model.has_idm
    with pytest.raises(Exception, match="no action encoder for 'humanoid'"):
        model.use("humanoid")


def test_lac_idm_first_frame_cannot_see_the_second():
    mask = block_causal_mask(16)
    assert mask[:16, 16:].all() and not mask[16:, :].any() and not mask[:16, :16].any()


def test_lora_starts_as_the_identity_update_and_trains_only_itself():
    model = LACWM(dim=32).eval()
    x, z = tokens(2)[:, 0], torch.randn(2, 16)
    before = model.predict_next(x, z)
    params = model.enable_lora(2)
    assert torch.allclose(model.predict_next(x, z), before, atol=1e-6)
    trainable = {id(p) for p in model.fdm.parameters() if p.requires_grad}
    # 2 layers × 3 blocks (x self, z self, x→z cross) × 2 MLP linears, each with A and B
    assert trainable == {id(p) for p in params} and len(params) == 2 * 3 * 2 * 2
    assert any(isinstance(m, LoRALinear) for m in model.fdm.modules())


def test_add_lora_rank():
    layer = torch.nn.Sequential(torch.nn.Linear(8, 8))
    wrapper = torch.nn.Module()
    wrapper.mlp = layer
    params = add_lora(wrapper, rank=2, names=("mlp",))
    assert params[0].shape == (2, 8) and params[1].shape == (8, 2)


def test_vector_quantizer_straight_through_and_dead_code_reset():
    vq = VectorQuantizer(8, 4)
    z = torch.randn(16, 4, requires_grad=True)
    quantised, indices, loss = vq(z)
    assert torch.allclose(quantised, vq.codebook(indices), atol=1e-6)
    quantised.sum().backward()
    assert torch.allclose(z.grad, torch.ones_like(z))  # gradients pass straight through
    vq.usage.zero_()
    recent = torch.full((5, 4), 7.0)
    assert vq.reset_dead_codes(recent, torch.Generator().manual_seed(0)) == 8
    assert torch.allclose(vq.codebook.weight, torch.full((8, 4), 7.0))


def test_discrete_controller_outputs_codebook_vectors():
    model = RegularisedLAM("discrete", dim=32).eval()
    z = model.to_latent(torch.randn(3, 1, 7), tokens(3))[:, 0].view(3, 2, 8)
    codebook = model.vq.codebook.weight
    assert all(any(torch.allclose(token, code) for code in codebook) for token in z.flatten(0, 1))


def test_vcm_regulariser_closed_forms():
    white = torch.randn(4000, 8, generator=torch.Generator().manual_seed(0))
    assert float(variance_covariance_mean(white)) < 0.05
    collapsed = torch.zeros(100, 8)
    assert float(variance_covariance_mean(collapsed)) == pytest.approx(1.0, abs=1e-3)


def test_flow_matching_samples_differ_by_noise_and_repeat_by_seed():
    policy = FlowMatchingPolicy(dim=32).eval()
    x, task = tokens(2)[:, 0], torch.zeros(2, dtype=torch.long)
    a = policy.act_tokens(x, task, torch.Generator().manual_seed(1))
    b = policy.act_tokens(x, task, torch.Generator().manual_seed(1))
    c = policy.act_tokens(x, task, torch.Generator().manual_seed(2))
    assert a.shape == (2, 4, 7) and torch.equal(a, b) and not torch.allclose(a, c)


def test_lawam_policy_acts_through_the_world_model_subgoal():
    policy = LaWAMPolicy({"dim": 32, "latent_dim": 16, "action_dim": 7, "state_dim": 7, "depth": 1}, dim=32)
    out = policy.act_tokens(tokens(2)[:, 0], torch.tensor([0, 1]))
    assert out.shape == (2, 1, 7)


@pytest.mark.parametrize("name", ["lac_wm", "lam_noisy", "cola_world"])
def test_training_objective_decreases(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    x = tokens(16, 2, seed=1)
    x[:, 1] = x[:, 0] + 0.5 * torch.tanh(x[:, 0])  # a learnable transition
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        prediction = model.predict_next(x[:, 0], model.idm_latent(x[:, 0], x[:, 1]))
        loss = torch.nn.functional.mse_loss(prediction, x[:, 1])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]


def test_autoencoder_shapes_and_input_checks():
    ae = VisualAutoencoder(width=16).eval()
    frames = torch.randint(0, 256, (2, 3, 64, 64, 3), dtype=torch.uint8)  # (B,T,H,W,3)
    states = ae.encode(frames)
    assert states.shape == (2, 3, 16, 32)
    assert ae.decode(states).shape == (2, 3, 3, 64, 64)
    with pytest.raises(Exception, match="64×64"):
        ae.encode(torch.zeros(1, 1, 3, 32, 32))
