"""The bundled model architectures: that each interface method is wired to the inputs that should
matter (and only to those), the structural pieces (masks, LoRA, VQ), the LaWAM policy acting
through its world-model subgoal, and that each real training objective (lawm_eval/models/train)
decreases under the real training loop."""

from __future__ import annotations

import inspect
import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.interfaces import ActionController, LatentActionModel, WorldModel
from lawm_eval.models.blocks import LoRALinear, VectorQuantizer, add_lora, frame_causal_mask
from lawm_eval.models.cola_world import CoLAWorld
from lawm_eval.models.eac_wm import EACWM
from lawm_eval.models.flow import euler_sample, flow_matching_loss, initial_noise
from lawm_eval.models.lac_wm import LACWM
from lawm_eval.models.lam_base import ConcatPredictor
from lawm_eval.models.lam_variants import RegularisedLAM, sparse_terms
from lawm_eval.models.law import LAW
from lawm_eval.models.lawm import LaWAMPolicy, LaWM
from lawm_eval.models.train import cola_robodesk as train_cola_robodesk
from lawm_eval.models.train import cola_world as train_cola
from lawm_eval.models.train import eac_wm as train_eac
from lawm_eval.models.train import lac_wm as train_lac
from lawm_eval.models.train import lam_variants as train_lam
from lawm_eval.models.train import law as train_law
from lawm_eval.models.train import lawm as train_lawm
from lawm_eval.models.train import visual_ae as train_ae
from lawm_eval.models.train import vla as train_vla
from lawm_eval.models.train.data import Transitions
from lawm_eval.models.train.loop import train
from lawm_eval.models.visual import VisualAutoencoder
from lawm_eval.models.vla import FlowMatchingPolicy

MODELS = {
    "lac_wm": lambda: LACWM(dim=32),
    "lawm": lambda: LaWM(dim=32),
    "lawm_state_adapter": lambda: LaWM(dim=32, state_adapter=True),
    "cola_world": lambda: CoLAWorld(dim=32),
    "cola_world_vae": lambda: CoLAWorld(dim=32, bottleneck="vae"),
    "law": lambda: LAW(hidden=32),
    "lam_sparse": lambda: RegularisedLAM("sparse", dim=32),
    "lam_noisy": lambda: RegularisedLAM("noisy", dim=32),
    "lam_discrete": lambda: RegularisedLAM("discrete", dim=32),
}


def tokens(b: int = 3, t: int = 1, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, t, 16, 32, generator=torch.Generator().manual_seed(seed))


def randomised(model: nn.Module, seed: int = 0) -> nn.Module:
    """Every parameter redrawn from N(0, 0.2²): the zero-initialised AdaLN modulation would
    otherwise make a freshly built model ignore its latent action, hiding whether it is wired."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.2 * torch.randn(p.shape, generator=generator))
    return model.eval()


def same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_interface_methods_use_the_inputs_that_matter(name):
    model = randomised(MODELS[name]())
    assert isinstance(model, LatentActionModel) and isinstance(model, WorldModel) and isinstance(model, ActionController)
    states, other = tokens(2, 4), tokens(2, 4, seed=1)

    # infer: one latent per consecutive pair, from that pair only
    latents = model.infer(states)
    assert latents.shape == (2, 3, model.latent_dim)
    changed = states.clone()
    changed[:, 3] = other[:, 3]  # only the last pair (2, 3) sees frame 3
    moved = model.infer(changed)
    assert same(moved[:, :2], latents[:, :2]) and not same(moved[:, 2], latents[:, 2])

    # step: the next state from the last context frame and the latent action
    z = model.infer(other)[:, :1]
    nxt = model.step(states[:, :2], latents[:, :1])
    assert nxt.shape == (2, 1, 16, 32)
    assert not same(model.step(states[:, :2], z), nxt)  # another latent action, another next state
    assert not same(model.step(other[:, :2], latents[:, :1]), nxt)
    assert same(model.step(torch.cat([other[:, :1], states[:, 1:2]], 1), latents[:, :1]), nxt)  # last frame only

    # rollout: starts like step, and step t depends on the latents up to t only (causal)
    rollout = model.rollout(states[:, :1], latents)
    assert rollout.shape == (2, 3, 16, 32)
    assert same(rollout[:, :1], model.step(states[:, :1], latents[:, :1]))
    late = latents.clone()
    late[:, 2] = model.infer(other)[:, 2]
    moved = model.rollout(states[:, :1], late)
    assert same(moved[:, :2], rollout[:, :2]) and not same(moved[:, 2], rollout[:, 2])
    if name != "law":  # Markov models; LAW carries its recurrent state through the rollout
        assert same(rollout[:, 1:2], model.step(rollout[:, :1], latents[:, 1:2]))

    # to_latent: the real actions matter; the states matter only to state-aware controllers
    actions = torch.randn(2, 3, 7, generator=torch.Generator().manual_seed(2))
    mapped = model.to_latent(actions, states[:, :3])
    assert mapped.shape == (2, 3, model.latent_dim)
    assert not same(model.to_latent(-actions, states[:, :3]), mapped)
    if model.needs_states:
        assert not same(model.to_latent(actions, other[:, :3]), mapped)
        with pytest.raises(ConfigError, match="needs the current state"):
            model.to_latent(actions, None)
    else:
        assert same(model.to_latent(actions, None), mapped)


def test_eac_wm_has_per_embodiment_encoders_and_no_idm():
    model = randomised(EACWM(dim=32))
    franka = torch.randn(2, 3, 7, generator=torch.Generator().manual_seed(0))
    latents = model.to_latent(franka, None)
    assert latents.shape == (2, 3, 16) and same(latents, model.encoders["franka"](franka))
    model.use("navigation")
    base = torch.randn(2, 3, 3, generator=torch.Generator().manual_seed(1))
    assert same(model.to_latent(base, None), model.encoders["navigation"](base))  # the other encoder now
    with pytest.raises(RuntimeError):  # a 7-D Franka action no longer fits
        model.to_latent(franka, None)
    assert not model.has_idm
    with pytest.raises(NotImplementedError):
        model.infer(tokens(2, 2))
    with pytest.raises(ConfigError, match="no action encoder for 'humanoid'"):
        model.use("humanoid")


def test_eac_wm_recipe_trains_one_step_teacher_forced_as_an_option():
    data, model = synthetic(), EACWM(dim=16, depth=1)
    model.normalizers["franka"].fit(data.a)
    losses = {}
    for rollout in (True, False):
        loss, logs = train_eac.embodiment_loss(model, data, "franka", torch.Generator().manual_seed(3), rollout)
        losses[rollout] = (float(loss), logs)
    x, a, _, _ = data.batch(64, torch.Generator().manual_seed(3))  # the batch both calls drew
    latents = model.encode_action(a.flatten(0, 1), "franka").view(len(a), a.shape[1], -1)
    one_step = F.mse_loss(model.predict_next(x[:, :-1].flatten(0, 1), latents.flatten(0, 1)), x[:, 1:].flatten(0, 1))
    assert losses[False][0] == pytest.approx(float(one_step), rel=1e-5)
    assert set(losses[False][1]) == {"recon_franka"}
    assert set(losses[True][1]) == {"recon_franka", "rollout_franka"}  # the bundled recipe: + the 3-step rollout
    assert losses[True][0] != pytest.approx(losses[False][0], rel=1e-3)
    assert inspect.signature(train_eac.main).parameters["rollout"].default is True
    model.normalizers["navigation"].fit(data.a[..., :3])
    both = {"franka": data, "navigation": Transitions(data.x, data.a[..., :3], data.s, data.task, "navigation")}
    for rollout in (True, False):  # the alternating objective passes the option on, for both embodiments
        loss_fn = train_eac.alternating_loss(model, both, rollout)
        logs = {**loss_fn(torch.Generator().manual_seed(0))[1], **loss_fn(torch.Generator().manual_seed(1))[1]}
        assert ("rollout_franka" in logs and "rollout_navigation" in logs) is rollout


def test_frame_causal_mask_blocks_exactly_the_later_frames():
    mask = frame_causal_mask(2, 16)  # the LAC-WM IDM's pair: x_t's tokens cannot see x_{t+1}'s
    assert mask[:16, 16:].all() and not mask[16:, :].any() and not mask[:16, :16].any()
    three = frame_causal_mask(3, 2)
    assert three.tolist()[2] == [False, False, False, False, True, True] and not three[4:].any()


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


def test_add_lora_wraps_the_named_linears_with_a_frozen_base_and_a_rank_r_update():
    torch.manual_seed(0)
    wrapper = nn.Module()
    wrapper.mlp = nn.Sequential(nn.Linear(8, 8))
    wrapper.other = nn.Linear(8, 8)
    x = torch.randn(5, 8)
    before, other_before = wrapper.mlp(x).detach(), wrapper.other(x).detach()
    params = add_lora(wrapper, rank=4, names=("mlp",))
    lora = wrapper.mlp[0]
    assert isinstance(lora, LoRALinear) and type(wrapper.other) is nn.Linear  # only the named sub-module
    assert params == [lora.lora_a, lora.lora_b] and lora.lora_a.shape == (4, 8) and lora.lora_b.shape == (8, 4)
    assert not any(p.requires_grad for p in [*lora.base.parameters(), *wrapper.other.parameters()])
    assert same(wrapper.mlp(x), before)  # B starts at zero
    with torch.no_grad():
        lora.lora_b.normal_()
    delta = (wrapper.mlp(x) - before).detach()
    assert lora.scale == 0.5 and same(delta, 0.5 * x @ lora.lora_a.T @ lora.lora_b.T)  # (α/r) B A x, α = 2
    assert torch.linalg.matrix_rank(delta) == 4  # a rank-4 update of a 5×8 output
    wrapper.mlp(x).sum().backward()
    assert lora.lora_a.grad is not None and lora.base.weight.grad is None
    assert same(wrapper.other(x), other_before)


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


def test_sparse_regulariser_terms_closed_forms():
    white = sparse_terms(torch.randn(4000, 8, generator=torch.Generator().manual_seed(0)))
    # N(0, I): std 1 (no variance hinge), no covariance or mean, ‖z‖² ≈ 8 > √8 (no norm hinge), E‖z‖₁ = 8·√(2/π)
    assert float(white["variance"]) < 0.02 and float(white["covariance"]) < 1e-3 and float(white["mean"]) < 1e-3
    assert float(white["norm_hinge"]) < 0.05
    assert float(white["l1"]) == pytest.approx(8 * (2 / math.pi) ** 0.5, rel=0.02)
    collapsed = sparse_terms(torch.zeros(100, 8))  # every hinge at its largest, nothing else
    assert float(collapsed["variance"]) == pytest.approx(1.0, abs=1e-3)
    assert float(collapsed["norm_hinge"]) == pytest.approx(8 ** 0.5)
    assert float(collapsed["l1"]) == float(collapsed["covariance"]) == float(collapsed["mean"]) == 0.0
    # one constant vector (2, 0, ..., 0): its squared norm 4 > √8, mean² (4/8 per dim), no spread
    shifted = sparse_terms(torch.zeros(100, 8) + torch.tensor([2.0] + [0.0] * 7))
    assert float(shifted["mean"]) == pytest.approx(0.5) and float(shifted["norm_hinge"]) == 0.0
    assert float(shifted["l1"]) == pytest.approx(2.0)
    # two perfectly correlated dimensions: cov(0, 1) = cov(1, 0) = var, over D(D-1) = 2 pairs
    x = torch.randn(5000, 1, generator=torch.Generator().manual_seed(1))
    assert float(sparse_terms(torch.cat([x, x], 1))["covariance"]) == pytest.approx(float(x.var()) ** 2, rel=1e-4)


def test_flow_matching_samples_differ_by_noise_and_repeat_by_seed():
    policy = FlowMatchingPolicy(dim=32).eval()
    x, task = tokens(2)[:, 0], torch.zeros(2, dtype=torch.long)
    a = policy.act_tokens(x, task, torch.Generator().manual_seed(1))
    b = policy.act_tokens(x, task, torch.Generator().manual_seed(1))
    c = policy.act_tokens(x, task, torch.Generator().manual_seed(2))
    assert a.shape == (2, 4, 7) and torch.equal(a, b) and not torch.allclose(a, c)


def lawam(use_subgoal: bool = True, horizon: int = 2) -> LaWAMPolicy:
    config = {"dim": 32, "latent_dim": 16, "action_dim": 7, "state_dim": 7, "depth": 1, "horizon": horizon}
    policy = randomised(LaWAMPolicy(config, dim=32, use_subgoal=use_subgoal))
    policy.action_normalizer.mean.fill_(0.5)
    policy.action_normalizer.std.fill_(2.0)
    return policy


def test_lawam_policy_acts_through_the_world_model_subgoal():
    policy = lawam()
    x, task = tokens(2)[:, 0], torch.tensor([0, 1])
    seen = []
    predict_next = policy.world.predict_next

    def recording(x_t, z):
        seen.append(z.clone())
        return predict_next(x_t, z)

    policy.world.predict_next = recording
    chunk = policy.act_tokens(x, task)
    assert chunk.shape == (2, 2, 7)  # one chunk spans the LaWM's horizon
    z, _ = policy.subgoal(x, task)
    assert len(seen) == 2 and same(seen[0], z)  # the subgoal is rolled from the policy's own latent action
    other_goal = tokens(2, seed=5)[:, 0]
    assert not torch.allclose(policy.generate(x, other_goal, task), chunk)  # and the expert reads it
    assert not torch.allclose(policy.act_tokens(x, task.flip(0)), chunk)  # as it reads the task
    blind = lawam(use_subgoal=False)  # "w/o LaWM": the same expert, no subgoal stream
    assert torch.allclose(blind.generate(x, other_goal, task), blind.act_tokens(x, task))


def test_lawam_knowledge_insulation_keeps_the_action_loss_out_of_the_latent_policy_and_lawm():
    policy = lawam()
    for p in policy.world.parameters():
        p.requires_grad_(True)  # even unfrozen, LaWM must get no gradient from the action expert
    x, task = tokens(4)[:, 0], torch.tensor([0, 1, 0, 1])
    chunk = torch.randn(4, 2, 7, generator=torch.Generator().manual_seed(1))
    _, subgoal = policy.subgoal(x, task)
    policy.flow_loss(policy.condition(x, subgoal, task), chunk, torch.Generator().manual_seed(2)).backward()
    upstream = list(policy.latent_policy.parameters()) + list(policy.world.parameters())
    upstream.append(policy.task_embedding.weight)
    assert all(p.grad is None or not p.grad.any() for p in upstream)
    assert policy.velocity[0].weight.grad.abs().sum() > 0 and policy.dynamics[0].weight.grad.abs().sum() > 0
    policy.zero_grad()
    z, subgoal = policy.subgoal(x, task)
    (z.pow(2).mean() + subgoal.pow(2).mean()).backward()  # distillation and subgoal terms do reach it
    assert policy.latent_policy[0].weight.grad.abs().sum() > 0


def test_bundled_lawm_adapter_reads_the_frame_it_acts_from(monkeypatch):
    """The bundled recipe's adapter reads the current frame, and its loss feeds it each pair's first frame;
    lawam's LaWM keeps the action-only adapter (it never uses one)."""
    assert train_lawm.CONFIG["state_adapter"] and not train_lawm.POLICY_CONFIG["state_adapter"]
    model = LaWM(dim=32, state_adapter=True)
    x = tokens(4, 2)
    data = Transitions(x, torch.randn(4, 1, 7), torch.randn(4, 2, 7), torch.zeros(4, dtype=torch.long), "franka")
    seen = []
    control = model.control
    monkeypatch.setattr(model, "control", lambda actions, x_t: seen.append(x_t) or control(actions, x_t))
    batch_generator = torch.Generator().manual_seed(0)
    index = torch.randint(0, 4, (64,), generator=torch.Generator().manual_seed(0))
    train_lawm.adapter_loss(model, data, batch_generator)
    assert torch.equal(seen[0], x[index, 0])


def test_law_recipe_runs_the_third_stage_and_it_trains_only_the_frame_controller(monkeypatch):
    data = synthetic(window=3, n=8)
    calls = []
    real_stage3 = train_law.fit_frame_controller

    def stage3(model, data, steps, seed=0):
        calls.append(steps)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        curve = real_stage3(model, data, steps, seed)
        changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
        assert changed and all(n.startswith("frame_encoder.") for n in changed)
        assert changed == {n for n in before if n.startswith("frame_encoder.")}
        return curve

    monkeypatch.setattr(train_law, "fit_frame_controller", stage3)
    config = {"hidden": 32, "variables": 4, "classes": 4, "frame_controller": True}
    _, curves = train_law.fit_law(config, data, steps=4)
    assert calls == [2] and "3: frame-reading controller" in curves
    _, curves = train_law.fit_law({**config, "frame_controller": False}, data, steps=4)
    assert calls == [2] and "3: frame-reading controller" not in curves


def test_bundled_law_controller_reads_the_frame_and_trains_alone_after_the_two_stages():
    """The bundled recipe's third stage: a controller reading the current frame, trained L2 to the frozen inverse
    model's latents on every transition of the window; the first two stages never touch it; law_libero keeps
    the action-only encoder it was trained with."""
    from lawm_eval.models.train import law_libero  # noqa: F401  (its config is built inside main)

    assert train_law.CONFIG["frame_controller"]
    model = randomised(LAW(hidden=32, variables=4, classes=4, frame_controller=True))
    assert model.needs_states
    actions, x = torch.randn(4, 7), tokens(4)[:, 0]
    z = model.control(actions, x)
    assert z.shape == (4, model.latent_dim) and z.abs().max() < 1
    assert not same(z, model.control(actions, tokens(4, seed=1)[:, 0]))  # the frame matters
    assert not same(z, model.action_encoder(model.normalizer(actions)))
    with pytest.raises(ConfigError, match="needs the current state"):
        model.control(actions, None)
    assert not LAW(hidden=32).needs_states and LAW(hidden=32).frame_encoder is None
    data = synthetic(window=3, n=8)
    model.normalizer.fit(data.a)
    loss, _ = train_law.frame_controller_loss(model, data, torch.Generator().manual_seed(0))
    index = torch.randint(0, 8, (48,), generator=torch.Generator().manual_seed(0))
    x_w, a_w = data.x[index], data.a[index]
    pairs_t, pairs_next = x_w[:, :-1].flatten(0, 1), x_w[:, 1:].flatten(0, 1)
    expected = (model.control(a_w.flatten(0, 1), pairs_t) - model.idm_latent(pairs_t, pairs_next)).pow(2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    loss.backward()
    assert model.frame_encoder.out.weight.grad.abs().sum() > 0 and model.inverse[0][0].weight.grad is None
    for p in model.parameters():  # stages 1-2 train everything but the frame encoder
        p.grad = None
    train_law.joint_loss(model, data, torch.Generator().manual_seed(0))[0].backward()
    train_law.finetune_loss(model, data, torch.Generator().manual_seed(0))[0].backward()
    assert all(p.grad is None for p in model.frame_encoder.parameters())
    source = inspect.getsource(law_libero.main)
    assert '"frame_controller": False' in source


@pytest.mark.parametrize("augment", [False, True])
def test_lawm_augmented_views_give_the_posterior_and_the_decoder_independent_draws(monkeypatch, augment):
    """C.5's option: the posterior reads the window under one appearance change, the decoder reads and
    predicts it under another; off, both see the window as recorded."""
    model = LaWM(dim=32)
    x = tokens(4, 2)
    data = Transitions(x, torch.randn(4, 1, 7), torch.randn(4, 2, 7), torch.zeros(4, dtype=torch.long), "franka")
    draws = iter([1.0, 2.0])
    monkeypatch.setattr(train_lawm, "cross_augment", lambda frames, generator: frames + next(draws))
    seen = {}
    posterior = model.posterior_stats
    monkeypatch.setattr(model, "posterior_stats", lambda a, b: (seen.__setitem__("posterior", a), posterior(a, b))[1])
    window = train_lawm.window_loss
    monkeypatch.setattr(train_lawm, "window_loss", lambda m, frames, z: (seen.__setitem__("decoder", frames),
                                                                         window(m, frames, z))[1])
    index = torch.randint(0, 4, (64,), generator=torch.Generator().manual_seed(0))
    train_lawm.world_loss(model, data, *train_lawm.state_stats(data), torch.Generator().manual_seed(0), augment=augment)
    shift_posterior, shift_decoder = (1.0, 2.0) if augment else (0.0, 0.0)
    assert torch.allclose(seen["posterior"], x[index, 0] + shift_posterior)
    assert torch.allclose(seen["decoder"], x[index] + shift_decoder)


def test_a_chunk_lawm_normalises_each_step_of_its_action_chunk():
    world = randomised(LaWM(dim=16, depth=1, horizon=2))
    world.normalizer.mean.copy_(torch.arange(7.0))
    world.normalizer.std.copy_(torch.arange(1.0, 8.0))
    chunk = torch.randn(3, 2, 7, generator=torch.Generator().manual_seed(0))  # (B,H,A), step-major as stored
    expected = world.adapter(((chunk - torch.arange(7.0)) / torch.arange(1.0, 8.0)).flatten(1))
    assert same(world.control(chunk.flatten(1), None), expected)


def test_flow_matching_is_exact_on_the_straight_path_field():
    """For data a₁ = c the ideal field is v(a, τ) = (c − a)/(1 − τ): the loss is zero and Euler
    integration from a₀ lands on c (each step covers dt of the straight path)."""
    c = torch.tensor([[0.5, -2.0, 3.0]]).expand(6, -1)

    def field(a, tau):
        return (c[: len(a)] - a) / (1 - tau)

    assert flow_matching_loss(field, c, torch.Generator().manual_seed(0)) < 1e-10
    a0 = initial_noise((6, 3), torch.Generator().manual_seed(1))
    assert torch.allclose(euler_sample(field, a0, 10), c, atol=1e-5)
    assert torch.equal(initial_noise((2, 3), None), torch.zeros(2, 3))
    rows = initial_noise((2, 3), [torch.Generator().manual_seed(4), torch.Generator().manual_seed(9)])
    assert torch.equal(rows[1], torch.randn(1, 3, generator=torch.Generator().manual_seed(9))[0])


def test_scripted_windows_are_the_grasp_start_of_pick_up_episodes():
    pick = train_lawm.TASKS.index("pick up the cube")
    data = Transitions(torch.zeros(4, 2, 16, 32), torch.zeros(4, 1, 35), torch.zeros(4, 2, 7),
                       torch.tensor([pick, pick, 1 - pick, pick]), "franka", torch.tensor([0, 8, 0, 9]))
    assert train_lawm.scripted(data).tolist() == [True, True, False, False]  # approach, descent, close: 13 steps


# -- the real training objectives (lawm_eval/models/train/*.py) under the real training loop ----------
def synthetic(action_dim: int = 7, n: int = 48, window: int = 3, seed: int = 0) -> Transitions:
    """Windows of tokens that, like encoded frames, live on a low-dimensional state c whose
    transition depends on the action: c' = 0.9 c + B a, x = P c; the robot state is c itself."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, window, action_dim, generator=g)
    to_tokens, act = 0.2 * torch.randn(8, 512, generator=g), 0.3 * torch.randn(action_dim, 8, generator=g)
    c = [torch.randn(n, 8, generator=g)]
    for t in range(window):
        c.append(0.9 * c[-1] + a[:, t] @ act)
    c = torch.stack(c, dim=1)  # (n, W+1, 8)
    x = (c @ to_tokens).view(n, window + 1, 16, 32)
    return Transitions(x, a, c[..., :7], torch.randint(0, 2, (n,), generator=g), "synthetic")


def _lac(stage: str):
    if stage == "temporal":  # lac_wm_history's last quarter of stage 1: 4-frame windows, teacher-forced
        data, model = synthetic(), LACWM(dim=16, depth=1, history_frames=3)
        model.normalizer.fit(data.a)
        return model, partial(train_lac.lam_loss, model, data, motion=True, scale=train_lac.label_scale(data),
                              independent_a2=True, rollout=False)
    data, model = synthetic(window=1), LACWM(dim=16, depth=1)  # one-step windows, as the Franka recipe
    model.normalizer.fit(data.a)
    if stage == "lam":
        return model, partial(train_lac.lam_loss, model, data, motion=True, scale=train_lac.label_scale(data),
                              independent_a2=True)
    if stage == "lora":
        model.enable_lora(2)
    return model, partial(train_lac.projector_loss, model, data)


@pytest.mark.parametrize("independent_a2", [True, False])
def test_lac_wm_cross_augmentation_draws_the_fdm_pair_apart_from_the_idm_pair(monkeypatch, independent_a2):
    """§3.1: the IDM reads its pair under augmentation A1, the FDM reads and predicts its pair under A2, an
    independent draw (the ``*_bfa`` recipe keeps A2 = identity, which ``independent_a2=False`` gives)."""
    data, model = synthetic(), LACWM(dim=16, depth=1)
    seen: dict[str, torch.Tensor] = {}
    model.idm.register_forward_hook(lambda module, args, out: seen.update(idm_x_t=args[0]))

    def spy(model_, x, latents, rollout=True):
        seen["fdm_window"] = x
        return x.sum() * 0, {}

    monkeypatch.setattr(train_lac, "window_loss", spy)
    train_lac.lam_loss(model, data, torch.Generator().manual_seed(0), motion=True, scale=train_lac.label_scale(data),
                       independent_a2=independent_a2)
    clean = data.batch(train_lac.BATCH, torch.Generator().manual_seed(0))[0]  # the same windows, unaugmented
    fdm_first, idm_first = seen["fdm_window"][:, 0], seen["idm_x_t"].view(len(clean), -1, 16, 32)[:, 0]
    assert not torch.allclose(idm_first, clean[:, 0])  # A1 changes the IDM's input
    if independent_a2:  # every frame the FDM reads or predicts is augmented, by another draw than the IDM's
        assert not torch.allclose(fdm_first, idm_first)
        assert all(not torch.allclose(seen["fdm_window"][:, t], clean[:, t]) for t in range(clean.shape[1]))
    else:
        assert torch.equal(seen["fdm_window"], clean)


def _eac():
    data, model = {"franka": synthetic(), "navigation": synthetic(3, seed=1)}, EACWM(dim=16, depth=1)
    for name, d in data.items():
        model.normalizers[name].fit(d.a)
    return model, train_eac.alternating_loss(model, data)


def _lawm(stage: str):
    data, model = synthetic(window=3 if stage == "world_rollout" else 1), LaWM(dim=16, depth=1)
    model.normalizer.fit(data.a)
    if stage.startswith("world"):
        return model, partial(train_lawm.world_loss, model, data, *train_lawm.state_stats(data))
    if stage == "adapter":
        return model, partial(train_lawm.adapter_loss, model, data)
    data = synthetic(action_dim=14, window=1)  # one 2-step chunk of 7-D actions per window
    config = {**train_lawm.POLICY_CONFIG, "horizon": 2}
    world = LaWM(**config)  # the policy embeds a frozen copy of it
    world.normalizer.fit(data.a.view(-1, 7))
    policy = train_lawm.lawam_policy(world, config, data)
    return policy, partial(train_lawm.policy_loss, policy, world, data)


def _cola(stage: str, history_frames: int = 1, bottleneck: str = "vq"):
    data = synthetic()
    model = CoLAWorld(dim=16, depth=1, decoder_depth=1, adapter="classify" if bottleneck == "vq" else "regress",
                      history_frames=history_frames, bottleneck=bottleneck)
    model.normalizer.fit(data.a)
    if stage == "lam":  # the two-stage LAM through its light FDM
        light = ConcatPredictor(16, model.latent_tokens, model.code_dim)
        holder = nn.ModuleList([model, light])
        return holder, lambda g: train_cola.lam_step(model, train_cola.ThroughDecoder(light), data, g)
    if stage == "pretrain":
        return model.world, partial(train_cola.pretrain_loss, model.world, model.latent_dim, data)
    if stage == "joint":
        return model, lambda g: train_cola.lam_step(model, model, data, g)
    loss = {"world": train_cola.world_loss, "adapter": train_cola.adapter_loss}[stage]
    return model, partial(loss, model, data)


def _cola_robodesk(stage: str):
    """The RoboDesk adaptation: a frozen LAM's codes are the adapter's classes and the world model's latents."""
    data, model = synthetic(), CoLAWorld(dim=16, depth=1, decoder_depth=1, adapter="classify")
    model.normalizer.fit(data.a)
    loss = {"adapter": train_cola_robodesk.adapter_loss, "world": train_cola_robodesk.world_loss}[stage]
    return model, partial(loss, model, data)


def _law(stage: str):
    data, model = synthetic(), LAW(hidden=64, variables=8, classes=8, frame_controller=stage == "frame_controller")
    model.normalizer.fit(data.a)
    if stage == "frame_controller":  # stage 3: only the frame-reading controller trains
        return model.frame_encoder, partial(train_law.frame_controller_loss, model, data)
    return model, partial({"joint": train_law.joint_loss, "finetune": train_law.finetune_loss}[stage], model, data)


def _lam(regulariser: str, stage: str = "world", history_frames: int = 1):
    data, model = synthetic(), RegularisedLAM(regulariser, dim=16, depth=1, history_frames=history_frames)
    model.normalizer.fit(data.a)
    if stage == "controller":
        return model, partial(train_lam.controller_loss, model, data)
    return model, partial(train_lam.world_loss, model, data, rollout=history_frames == 1)


def _vla():
    data, policy = synthetic(), FlowMatchingPolicy(chunk=3, dim=32)
    policy.normalizer.fit(data.a)
    return policy, partial(train_vla.flow_loss, policy, data)


def _visual_ae():
    frames = torch.randint(0, 256, (16, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    model = VisualAutoencoder(width=8)
    return model, partial(train_ae.reconstruction_loss, model, frames)


OBJECTIVES = {
    "lac_wm/latent_actions": lambda: _lac("lam"),
    "lac_wm/projector": lambda: _lac("projector"),
    "lac_wm/lora": lambda: _lac("lora"),
    "eac_wm/both_embodiments": _eac,
    "lawm/world_model": lambda: _lawm("world"),
    "lawm/world_model_with_rollout_term": lambda: _lawm("world_rollout"),
    "lawm/adapter": lambda: _lawm("adapter"),
    "lawam/policy": lambda: _lawm("policy"),
    "cola_world/lam": lambda: _cola("lam"),
    "cola_world/world_model": lambda: _cola("world"),
    "cola_world/adapter_codes": lambda: _cola("adapter"),
    "cola_world/pretrain_action_free": lambda: _cola("pretrain"),
    "cola_world/joint": lambda: _cola("joint"),
    "cola_world_vae/joint": lambda: _cola("joint", bottleneck="vae"),
    "cola_world_vae/adapter_mu": lambda: _cola("adapter", bottleneck="vae"),
    "cola_world_history/pretrain_action_free": lambda: _cola("pretrain", history_frames=3),
    "cola_world_history/joint": lambda: _cola("joint", history_frames=3),
    "cola_world_history/world_model": lambda: _cola("world", history_frames=3),
    "cola_world_robodesk/adapter_codes": lambda: _cola_robodesk("adapter"),
    "cola_world_robodesk/world_model_gt_lam": lambda: _cola_robodesk("world"),
    "law/joint": lambda: _law("joint"),
    "law/finetune": lambda: _law("finetune"),
    "law/frame_controller": lambda: _law("frame_controller"),
    "lam_sparse/world_model": lambda: _lam("sparse"),
    "lam_noisy/world_model": lambda: _lam("noisy"),
    "lam_discrete/world_model": lambda: _lam("discrete"),
    "lam_noisy/controller": lambda: _lam("noisy", "controller"),
    "lam_noisy_history/world_model": lambda: _lam("noisy", history_frames=3),
    "lac_wm_history/temporal_attention": lambda: _lac("temporal"),
    "vla_flow/flow_matching": _vla,
    "visual_ae/reconstruction": _visual_ae,
}
STEPS = 30


@pytest.fixture
def one_thread():
    """The training scripts run on one thread; so do these tests (much faster on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_training_objective_decreases(name, one_thread):
    """STEPS steps of ``loop.train`` (AdamW, clipping, cosine schedule) on the script's own loss
    function lower that loss on a fixed probe batch (the same generator seed before and after)."""
    torch.manual_seed(0)
    model, loss_fn = OBJECTIVES[name]()

    @torch.no_grad()
    def probe() -> float:  # two calls: EAC-WM alternates embodiments, so the probe sees both
        generator = torch.Generator().manual_seed(123)
        return sum(float(loss_fn(generator)[0]) for _ in range(2))

    before = probe()
    train(model.parameters(), loss_fn, STEPS, lr=3e-3, seed=1, log_every=STEPS)
    after = probe()
    assert after < 0.95 * before, (before, after)


def test_autoencoder_shapes_and_input_checks():
    ae = VisualAutoencoder(width=16).eval()
    frames = torch.randint(0, 256, (2, 3, 64, 64, 3), dtype=torch.uint8)  # (B,T,H,W,3)
    states = ae.encode(frames)
    assert states.shape == (2, 3, 16, 32)
    assert ae.decode(states).shape == (2, 3, 3, 64, 64)
    assert same(ae.encode(frames.permute(0, 1, 4, 2, 3)), states)  # channels-first frames read the same
    with pytest.raises(ModelError, match="64×64"):
        ae.encode(torch.zeros(1, 1, 3, 32, 32))


def test_a_sweep_strength_reaches_the_loss_or_the_codebook():
    """scripts/capacity_sweep.py varies λ_l1, β and |C| through train_variant: the weight scales its term in
    the training loss, and the codebook gets that many entries."""
    data = synthetic()
    model = RegularisedLAM("sparse", dim=16, depth=1)
    model.normalizer.fit(data.a)
    losses = {}
    for l1 in (0.0, 1.0):
        loss, logs = train_lam.world_loss(model, data, torch.Generator().manual_seed(3),
                                          weights={**train_lam.WEIGHTS, "l1": l1})
        losses[l1] = (float(loss), logs["l1"])
    assert losses[1.0][0] - losses[0.0][0] == pytest.approx(losses[1.0][1], rel=1e-4) and losses[1.0][1] > 0
    discrete, config, curves = train_lam.train_variant("discrete", data, steps=2, strength=8)
    assert config["codes"] == 8 and discrete.vq.codebook.weight.shape[0] == 8 and len(curves) == 2
    zero, _, _ = train_lam.train_variant("deterministic", data, steps=2)
    x = data.x[:4]
    assert torch.equal(zero.idm_latent(x[:, 0], x[:, 1]), torch.zeros(4, 16))


def test_window_loss_is_the_squared_or_the_papers_absolute_error():
    """Garrido et al. train with L1 (§4), the bundled models with MSE; a one-transition window is the
    teacher-forced one-step error alone, a longer one adds the model's own rollout."""
    from lawm_eval.models.train.losses import window_loss

    class CopyLast:
        def predict_next(self, x_t, z):
            return x_t

        def rollout_train(self, x0, latents):
            if latents.shape[1] == 1:
                raise AssertionError("a one-transition window has no rollout term")
            return x0[:, None].expand(-1, latents.shape[1], -1, -1)

    x, latents = torch.randn(2, 4, 16, 32, generator=torch.Generator().manual_seed(0)), torch.zeros(2, 3, 5)
    step, rollout = x[:, 1:] - x[:, :-1], x[:, 1:] - x[:, :1]
    assert float(window_loss(CopyLast(), x, latents)[0]) == pytest.approx(
        0.5 * float(step.pow(2).mean() + rollout.pow(2).mean()))
    assert float(window_loss(CopyLast(), x, latents, "l1")[0]) == pytest.approx(
        0.5 * float(step.abs().mean() + rollout.abs().mean()))
    assert float(window_loss(CopyLast(), x[:, :2], latents[:, :1], "l1")[0]) == pytest.approx(
        float((x[:, 1] - x[:, 0]).abs().mean()))
    data = synthetic(window=1)  # train_variant hands the distance to the world model's loss
    first = {d: train_lam.train_variant("noisy", data, steps=1, distance=d)[2] for d in ("mse", "l1")}
    recon = {d: next(iter(curves.values()))[0]["recon"] for d, curves in first.items()}
    assert recon["l1"] ** 2 == pytest.approx(recon["mse"], rel=0.6) and recon["l1"] > recon["mse"]


def history_model(frames: int = 3) -> RegularisedLAM:
    """A noisy-latent model reading ``frames`` frames, every parameter random (``randomised``)."""
    return randomised(RegularisedLAM("noisy", dim=32, history_frames=frames))


def test_history_world_model_is_frame_causal_and_reads_the_last_frames_of_its_context():
    model, one_frame = history_model(3), history_model(1)
    x, z = tokens(2, 5), torch.randn(2, 3, 16)
    window = model.predict_window(x[:, :3], z)  # (2,3,16,32)
    changed_last = model.predict_window(torch.cat([x[:, :2], x[:, 4:5]], 1), z)
    assert torch.allclose(window[:, :2], changed_last[:, :2], atol=1e-6)  # earlier frames never see later ones
    assert not torch.allclose(window[:, 2], changed_last[:, 2], atol=1e-4)
    assert torch.allclose(model.predict_next(x[:, 0], z[:, 0]), window[:, 0], atol=1e-6)  # one frame = a window of 1
    step = model.step(x[:, :3], z[:, :1])
    assert not torch.allclose(step, model.step(torch.cat([x[:, 3:4], x[:, 1:3]], 1), z[:, :1]), atol=1e-4)
    assert torch.allclose(step, model.step(torch.cat([x[:, 3:4], x[:, :3]], 1), z[:, :1]), atol=1e-6)  # only K read
    assert torch.allclose(one_frame.step(x[:, :3], z[:, :1]), one_frame.step(x[:, 2:3], z[:, :1]), atol=1e-6)
    past = model.infer(x[:, :3])  # the IDM's latents of the two transitions inside the window
    assert torch.allclose(step[:, 0], model.predict_window(x[:, :3], torch.cat([past, z[:, :1]], 1))[:, -1], atol=1e-6)


def test_history_rollout_feeds_each_imagined_frame_and_its_latent_back():
    model = history_model(3)
    x, z = tokens(2, 2), torch.randn(2, 3, 16)
    rollout = model.rollout(x, z)  # (2,3,16,32) from a context of 2 frames
    assert torch.allclose(rollout[:, 0], model.step(x, z[:, :1])[:, 0], atol=1e-6)
    past = model.infer(x)  # (2,1,L)
    second = model.predict_window(torch.cat([x, rollout[:, :1]], 1), torch.cat([past, z[:, :2]], 1))[:, -1]
    assert torch.allclose(rollout[:, 1], second, atol=1e-6)
    third = model.predict_window(torch.cat([x[:, 1:], rollout[:, :2]], 1), z)[:, -1]  # the window slid by one
    assert torch.allclose(rollout[:, 2], third, atol=1e-6)


def test_history_model_trains_teacher_forced_over_the_window_and_saves_its_context_length():
    from lawm_eval.models.train.losses import window_loss

    model, x, z = history_model(3), tokens(2, 4), torch.randn(2, 3, 16)
    loss, logs = window_loss(model, x, z, rollout=False)
    assert loss.item() == pytest.approx((model.predict_window(x[:, :-1], z) - x[:, 1:]).pow(2).mean().item())
    assert "rollout" not in logs
    trained, config, _ = train_lam.train_variant("noisy", synthetic(), steps=2, history_frames=3, rollout=False)
    assert config["history_frames"] == 3 and trained.history_frames == 3
    rebuilt = RegularisedLAM(**config)
    rebuilt.load_state_dict(trained.state_dict())
    assert torch.equal(rebuilt.eval().rollout(x[:, :2], z), trained.eval().rollout(x[:, :2], z))
    with pytest.raises(ConfigError, match="history_frames must be ≥ 1"):
        RegularisedLAM("noisy", history_frames=0)


def test_train_variant_seed_changes_the_run_and_seed_0_is_the_bundled_one():
    """scripts/history_context.py --seed=1 retrains the Garrido comparison from another seed; seed 0 keeps the
    bundled recipe's initialisation and batches."""
    runs = {seed: train_lam.train_variant("noisy", synthetic(), steps=2, seed=seed)[0].state_dict() for seed in (0, 1)}
    again = train_lam.train_variant("noisy", synthetic(), steps=2)[0].state_dict()
    assert all(torch.equal(again[k], runs[0][k]) for k in again)
    assert not all(torch.equal(runs[1][k], runs[0][k]) for k in again)


def recorded_recipe(monkeypatch, module, name: str) -> list[dict]:
    """Run ``module.main(name, steps=40)`` on synthetic windows with ``train`` recorded (3 real steps a
    stage) and ``finish`` stubbed: per stage, the parameter names it trains, its steps, loss keywords and data."""
    from lawm_eval.models.train import loop

    calls, built = [], {}
    network = LACWM if module is train_lac else RegularisedLAM  # the module's own name may be patched already

    def build(**config):
        built["model"] = network(**config)
        return built["model"]

    def record(params, loss_fn, steps, **kwargs):
        params = [p for p in params if p.requires_grad]
        names = {id(p): n for n, p in built["model"].named_parameters()}
        calls.append({"names": [names[id(p)] for p in params], "steps": steps, "loss": loss_fn.keywords,
                      "data": loss_fn.args[1]})
        return loop.train(params, loss_fn, 3, **kwargs)

    monkeypatch.setattr(module, network.__name__, build)
    monkeypatch.setattr(module, "train", record)
    monkeypatch.setattr(module, "load_autoencoder", lambda: None)
    monkeypatch.setattr(module, "transitions", lambda dataset, autoencoder, window=1, split="train":
                        synthetic(window=window, seed=int(split != "train")))
    monkeypatch.setattr(module, "finish", lambda *args, **kwargs: built.update(config=args[2]))
    module.main(name, steps=40)
    return calls


def test_lac_wm_history_recipe_adds_the_temporal_attention_for_the_last_quarter_of_stage_1(monkeypatch):
    """A.5: the FDM's temporal attention trains only in the last quarter of pretraining (here 10 of 40
    steps, on 4-frame windows, teacher-forced); ``lac_wm`` has none and keeps its one-frame recipe."""
    stages = recorded_recipe(monkeypatch, train_lac, "lac_wm_history")
    temporal = [[n for n in stage["names"] if n.startswith("fdm.temporal.") or n == "fdm.frame_pos"] for stage in stages]
    assert [stage["steps"] for stage in stages] == [30, 10, 20, 20]
    assert temporal[0] == [] and len(temporal[1]) == len(LACWM(history_frames=3).fdm.temporal_parameters())
    assert stages[1]["loss"]["rollout"] is False and stages[2]["loss"]["rollout"] is False
    assert stages[0]["data"].x.shape[1] == 2 and stages[1]["data"].x.shape[1] == 4  # 1, then 3 transitions
    plain = recorded_recipe(monkeypatch, train_lac, "lac_wm")
    assert [stage["steps"] for stage in plain] == [40, 20, 20]
    assert not any("temporal" in n for stage in plain for n in stage["names"])


def test_lac_wm_history_control_follows_the_a5_schedule_with_a_one_frame_fdm(monkeypatch):
    """scripts/history_context.py's matched control of lac_wm_history: the same stages, steps and 4-frame
    windows, teacher-forced, but an FDM without temporal attention."""
    from lawm_eval.models.train import loop

    calls = []

    def record(params, loss_fn, steps, **kwargs):
        calls.append({"steps": steps, "loss": loss_fn.keywords, "data": loss_fn.args[1]})
        return loop.train(params, loss_fn, 1, **kwargs)

    monkeypatch.setattr(train_lac, "train", record)
    model, config, _ = train_lac.train_lac_wm(1, synthetic(window=1), synthetic(window=3), steps=40, a5_schedule=True)
    assert model.history_frames == 1 and "history_frames" not in config and not model.fdm.temporal_parameters()
    assert [c["steps"] for c in calls] == [30, 10, 20, 20]
    assert [c["data"].x.shape[1] for c in calls] == [2, 4, 4, 4]
    assert [c["loss"]["rollout"] for c in calls[1:]] == [False, False, False]
    with pytest.raises(ValueError, match="a5_schedule must be on"):  # temporal attention never trained otherwise
        train_lac.train_lac_wm(3, synthetic(window=1), synthetic(window=3), steps=40, a5_schedule=False)


def test_lam_noisy_history_recipe_is_teacher_forced_with_three_frames(monkeypatch):
    stages = recorded_recipe(monkeypatch, train_lam, "lam_noisy_history")
    assert stages[0]["loss"]["rollout"] is False and any(n == "world.frame_pos" for n in stages[0]["names"])
    assert recorded_recipe(monkeypatch, train_lam, "lam_noisy")[0]["loss"]["rollout"] is True


def test_cola_history_world_model_is_frame_causal_and_its_losses_are_teacher_forced_over_the_window():
    """cola_world_history: the world model reads the window frame-causally (pretraining with zero latents
    included); the joint and GT-LAM losses predict every transition of the window from the earlier frames."""
    model = randomised(CoLAWorld(dim=32, history_frames=3)).train()
    x, z = tokens(2, 4), torch.randn(2, 3, model.latent_dim)
    window = model.predict_window(x[:, :3], z)
    changed_last = model.predict_window(torch.cat([x[:, :2], x[:, 3:4]], 1), z)
    assert torch.allclose(window[:, :2], changed_last[:, :2], atol=1e-6)
    assert not torch.allclose(window[:, 2], changed_last[:, 2], atol=1e-4)
    x = x[:1]  # one window, so that every batch drawn from it is that window
    data = Transitions(x, torch.randn(1, 3, 7), torch.zeros(1, 4, 7), torch.zeros(1, dtype=torch.long), "synthetic")
    model.eval()  # the IDM's standardisation and the VQ as a fixed function, so the two evaluations agree
    _, logs = train_cola.lam_step(model, model, data, torch.Generator().manual_seed(0))
    latents = model.quantised_latent(x[:, :-1].flatten(0, 1), x[:, 1:].flatten(0, 1))[0]
    expected = (model.predict_window(x[:, :-1], latents.view(1, 3, -1)) - x[:, 1:]).pow(2).mean()
    assert logs["recon"] == pytest.approx(expected.item(), rel=1e-5)
    one_step = (model.predict_next(x[:, :-1].flatten(0, 1), latents) - x[:, 1:].flatten(0, 1)).pow(2).mean()
    assert logs["recon"] != pytest.approx(one_step.item(), rel=1e-3)  # the window, not each frame alone
    pretrain, _ = train_cola.pretrain_loss(model.world, model.latent_dim, data, torch.Generator().manual_seed(0))
    expected = (model.world.window(x[:, :-1], torch.zeros(1, 3, model.latent_dim)) - x[:, 1:]).pow(2).mean()
    assert pretrain.item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match="history_frames must be ≥ 1"):
        CoLAWorld(history_frames=0)


def test_cola_latent_attention_starts_as_the_identity_is_causal_and_trains_with_the_conditioning():
    """CoLA-World §3.3 / App. B.2 option: zero-initialised self-attention blocks over the window's latent sequence;
    at init the world model predicts as without them; once trained, a frame's prediction still ignores later
    latents; the blocks are among the conditioning modules the warm-up trains (not the pretrained trunk)."""
    torch.manual_seed(0)
    plain = CoLAWorld(dim=32, history_frames=3).eval()
    torch.manual_seed(0)
    attending = CoLAWorld(dim=32, history_frames=3, latent_attention=2).eval()
    attending.world.load_state_dict(plain.world.state_dict(), strict=False)
    x, z = tokens(2, 3), torch.randn(2, 3, plain.latent_dim)
    assert same(attending.predict_window(x, z), plain.predict_window(x, z))
    randomised(attending)
    window = attending.predict_window(x, z)
    later = z.clone()
    later[:, 2] = torch.randn(2, plain.latent_dim)
    moved = attending.predict_window(x, later)
    assert same(moved[:, :2], window[:, :2]) and not same(moved[:, 2], window[:, 2])
    blocks = {id(p) for p in attending.world.latent_blocks.parameters()}
    assert blocks and blocks <= {id(p) for p in train_cola.conditioning(attending.world)}
    assert not blocks & {id(p) for p in train_cola.trunk(attending.world)}
    with pytest.raises(ValueError, match="needs a window"):
        CoLAWorld(latent_attention=2)


def test_cola_vae_bottleneck_samples_in_training_reads_mu_otherwise_and_holds_the_kl_at_its_minimum():
    """cola_world_vae (App. D.5): z ~ N(μ, σ²) with the step's generator, μ without one; the loss is
    KL_WEIGHT · max(KL, KL_MIN) with the closed-form Gaussian KL (no gradient below the minimum); the
    adapter regresses μ and is never snapped; no codes to classify or count."""
    from lawm_eval.models import cola_world as cola_module

    model = randomised(CoLAWorld(dim=16, bottleneck="vae"))
    x_t, x_next = tokens(4)[:, 0], tokens(4, seed=1)[:, 0]
    mu = model.idm_latent(x_t, x_next)
    assert model.vq is None and mu.shape == (4, model.latent_dim)
    sampled, indices, loss = model.quantised_latent(x_t, x_next, torch.Generator().manual_seed(0))
    again = model.quantised_latent(x_t, x_next, torch.Generator().manual_seed(0))[0]
    other = model.quantised_latent(x_t, x_next, torch.Generator().manual_seed(1))[0]
    assert indices is None and same(sampled, again) and not same(sampled, other) and not same(sampled, mu)
    out = model.idm(x_t, x_next)
    m, log_sigma = out.chunk(2, dim=-1)
    log_sigma = log_sigma.clamp(-6, 2)
    kl = (0.5 * (m ** 2 + torch.exp(2 * log_sigma) - 1) - log_sigma).sum((1, 2)).mean()
    assert loss.item() == pytest.approx(cola_module.KL_WEIGHT * max(kl.item(), cola_module.KL_MIN), rel=1e-5)
    # a posterior at the prior (KL 0 < KL_MIN): the loss is the floor, with no gradient into the IDM
    zero = CoLAWorld(dim=16, bottleneck="vae")
    with torch.no_grad():
        zero.idm.out.weight.zero_()
        zero.idm.out.bias.zero_()
    floor = zero.quantised_latent(x_t, x_next, torch.Generator().manual_seed(0))[2]
    assert floor.item() == pytest.approx(cola_module.KL_WEIGHT * cola_module.KL_MIN)
    floor.backward()
    assert zero.idm.out.bias.grad is None or not zero.idm.out.bias.grad.any()
    # the training step logs the bottleneck's loss under its own name (the curves' "kl"; "vq" for the codes)
    data = Transitions(tokens(2, 2), torch.randn(2, 1, 7), torch.zeros(2, 2, 7), torch.zeros(2, dtype=torch.long), "synthetic")
    logged = {name: train_cola.lam_step(m, m, data, torch.Generator().manual_seed(0))[1]
              for name, m in (("vae", model), ("vq", randomised(CoLAWorld(dim=16))))}
    assert "kl" in logged["vae"] and "vq" not in logged["vae"] and "vq" in logged["vq"] and "kl" not in logged["vq"]
    assert logged["vae"]["kl"] >= cola_module.KL_WEIGHT * cola_module.KL_MIN * (1 - 1e-6)
    actions = torch.randn(4, 7)
    assert same(model.control(actions, None), model.adapter(model.normalizer(actions)))  # not snapped
    with pytest.raises(ValueError, match="no codes"):
        model.codes(x_t, x_next)
    with pytest.raises(ValueError, match="use adapter='regress'"):
        CoLAWorld(bottleneck="vae", adapter="classify")
    with pytest.raises(ValueError, match="bottleneck must be"):
        CoLAWorld(bottleneck="gumbel")


def test_cola_vae_recipe_matches_table_6_budgets_from_the_same_pretrained_world_model(monkeypatch):
    """``python -m lawm_eval.models.train cola_world_vae``: the discrete models' action-free pretrained world
    model; two-stage LAM + WM at 1,500 + 1,500 against CoLA's warm-up + end to end at 200 + 1,500 (Table 6's
    LAM30K + WM30K against WARM4K + E2E30K); adapters regress μ; both saved with the VAE config."""
    from lawm_eval.models.train import cola_world_vae

    starts = []
    real_fresh = train_cola.fresh_model

    def fresh(world, *args, **kwargs):
        starts.append({k: v.clone() for k, v in world.state_dict().items()})
        return real_fresh(world, *args, **kwargs)

    monkeypatch.setattr(train_cola, "fresh_model", fresh)
    steps, saved, _ = cola_recipe(monkeypatch, cola_world_vae.main, cola_world_vae)
    # pretrain; two-stage LAM, WM; CoLA warm-up, end to end; the two adapters (scaled with steps=60 of 3,000)
    assert steps == [40, 30, 30, 4, 30, 1000, 1000]
    assert all(same(start[k], starts[0][k]) for start in starts for k in start)  # one pretrained world model
    for name in ("cola_two_stage_vae", "cola_world_vae"):
        model, config = saved[name]
        assert config == cola_world_vae.VAE_CONFIG and model.vq is None and model.adapter_kind == "regress"
    torch.manual_seed(0)
    discrete = train_cola.CoLAWorld(**train_cola.CONFIG).world
    torch.manual_seed(0)
    shape = train_cola.CoLAWorld(**{**cola_world_vae.VAE_CONFIG, "bottleneck": "vq", "adapter": "classify"}).world
    assert all(same(a, b) for a, b in zip(discrete.state_dict().values(), shape.state_dict().values()))


def cola_recipe(monkeypatch, main, script=train_cola) -> tuple[list[int], dict, list[tuple[int, str]]]:
    """Run a CoLA recipe's ``main(steps=60)`` on synthetic windows with ``train`` recorded (1 real step a stage),
    the plot and ``finish`` stubbed: the steps of each stage, what was saved, the windows loaded."""
    from lawm_eval.models.train import loop

    steps, saved, windows = [], {}, []

    def record(params, loss_fn, n, **kwargs):
        steps.append(n)
        return loop.train(params, loss_fn, 1, **kwargs)

    def fake_transitions(dataset, autoencoder, window=1, split="train"):
        windows.append((window, split))
        return synthetic(window=window, seed=int(split != "train"))

    monkeypatch.setattr(train_cola, "train", record)
    monkeypatch.setattr(script, "load_autoencoder", lambda: None)
    monkeypatch.setattr(script, "transitions", fake_transitions)
    monkeypatch.setattr(train_cola, "plot_codebook", lambda curves, warm, file: saved.update(plot=(file, list(curves))))
    monkeypatch.setattr(train_cola, "finish", lambda name, model, config, *a, **k: saved.update({name: (model, config)}))
    main(steps=60)
    return steps, saved, windows


COLA_CURVES = ["CoLA: warm-up, then end to end", "joint from the pretrained WM, no warm-up", "two-stage LAM (light decoder)"]


@pytest.mark.parametrize("frames", [1, 3])
def test_cola_recipes_train_on_windows_of_their_history_with_the_same_budgets(monkeypatch, frames):
    """``python -m lawm_eval.models.train cola_world``: one transition per sample, the plain config, the bundled
    names; ``cola_world_history``: action-free pretraining (frame positions included), the two-stage baseline,
    CoLA's warm-up then end to end and the no-warm-up ablation, all on 4-frame windows with the same steps, both
    checkpoints saved with history_frames 3."""
    from lawm_eval.models.train import cola_world_history

    suffix = "_history" if frames > 1 else ""
    steps, saved, windows = cola_recipe(monkeypatch, cola_world_history.main if frames > 1 else train_cola.main)
    assert [w for w in windows if w[1] == "train"] == [(frames, "train")]
    # pretrain; no warm-up (joint for the whole budget); two-stage LAM, WM; CoLA warm-up, e2e; the two adapters
    assert steps == [40, 60, 30, 30, 8, 52, 1000, 1000]
    assert saved["plot"] == (f"cola_codebook{suffix}.png", COLA_CURVES)
    for name in (f"cola_two_stage{suffix}", f"cola_world{suffix}"):
        model, config = saved[name]
        assert config == ({**train_cola.CONFIG, "history_frames": 3} if frames > 1 else train_cola.CONFIG)
        assert model.history_frames == frames and model.world.frames == frames
    world = CoLAWorld(history_frames=3).world
    assert any(p is world.frame_pos for p in train_cola.trunk(world))  # pretrained with the trunk


def test_cola_lr_study_changes_only_the_end_to_end_learning_rate_and_whether_the_trunk_waits(monkeypatch, tmp_path):
    """``python -m lawm_eval.models.train.cola_lr_study``: per end-to-end lr, CoLA's warm-up (trunk frozen for
    WARM_STEPS at lr 1e-3) against the control that trains the trunk from the first step, both 400 + 2,600 steps
    from one pretrained world model; the study's rows and plot come from the recorded curves."""
    import json

    from lawm_eval.models.checkpoint import load_model
    from lawm_eval.models.train import cola_lr_study, loop

    calls = []

    def record(params, loss_fn, n, lr=1e-3, **kwargs):
        params = list(params)
        calls.append((n, lr, {id(p) for p in params}))
        curve = loop.train(params, loss_fn, 1, lr=lr, **kwargs)
        if kwargs.get("on_step"):
            kwargs["on_step"](n)  # the phase's last step: the codebook tracker records it
        return curve

    small = {**train_cola.CONFIG, "dim": 16, "depth": 1, "decoder_depth": 1}
    world = CoLAWorld(**small).world
    monkeypatch.setattr(train_cola, "train", record)
    monkeypatch.setattr(train_cola, "CONFIG", small)
    monkeypatch.setattr(train_cola, "fresh_model", lambda w, data, seed, config=small: _fresh(w, data, small))
    monkeypatch.setattr(cola_lr_study, "load_autoencoder", lambda: None)
    monkeypatch.setattr(cola_lr_study, "transitions", lambda *a, window=1, split="train": synthetic(window=window))
    monkeypatch.setattr(cola_lr_study, "pretrained_world", lambda data: world)
    monkeypatch.setattr(cola_lr_study, "REPO_DOCS", tmp_path)
    monkeypatch.setattr(cola_lr_study, "CONFIG", small)
    rows = cola_lr_study.study(lrs=(1e-4, 1e-3))
    trunk_ids = {id(p) for p in train_cola.trunk(world)}
    runs = [c for c in calls if c[0] != train_cola.ADAPTER_STEPS]  # each run: first phase, end to end
    assert [(n, lr) for n, lr, _ in runs] == [(400, 1e-3), (2600, 1e-4)] * 2 + [(400, 1e-3), (2600, 1e-3)] * 2
    firsts = [ids for n, _, ids in runs if n == 400]
    assert [bool(ids & trunk_ids) for ids in firsts] == [False, True, False, True]  # warm-up, control, per lr
    assert [(r["e2e_lr"], r["recipe"]) for r in rows] == [(1e-4, "warm-up"), (1e-4, "no warm-up"),
                                                           (1e-3, "warm-up"), (1e-3, "no warm-up")]
    assert all(r["curve"][-1]["step"] == 3000 and r["final"] == r["curve"][-1] for r in rows)
    cola_lr_study.plot(rows)
    assert (tmp_path / "cola_codebook_lr.png").stat().st_size > 0

    # the paper's other control: the same phases as "no warm-up" from an untrained world model
    del calls[:]
    scratch = cola_lr_study.study(lrs=(1e-3,), recipes=("from scratch",), save=tmp_path)
    saved_model = tmp_path / "cola_world_lr0.001_from_scratch_s0.pt"
    loaded, extra = load_model(saved_model, "cola_world", CoLAWorld)  # what model=cola_world model.checkpoint= loads
    assert isinstance(loaded, CoLAWorld) and extra["lr_study"] == {"e2e_lr": 1e-3, "recipe": "from scratch", "seed": 0}
    assert [r["recipe"] for r in scratch] == ["from scratch"] and not calls[0][2] & trunk_ids  # not the pretrained one
    assert [(n, lr) for n, lr, _ in calls[:2]] == [(400, 1e-3), (2600, 1e-3)]
    untrained = cola_lr_study.untrained_world()
    assert all(torch.equal(a, b) for a, b in zip(untrained.state_dict().values(), cola_lr_study.untrained_world().state_dict().values()))
    del calls[:]

    # seeds run in separate processes: each merges its rows into the one file, a rerun replaces its own
    monkeypatch.setattr(cola_lr_study, "baseline_dir", lambda name: tmp_path)
    for seeds in ((0,), (1,), (1,)):
        cola_lr_study.main(lrs=(1e-4,), seeds=seeds)
    saved = json.loads((tmp_path / "lr_study.json").read_text())
    assert sorted((r["seed"], r["recipe"]) for r in saved) == [(0, "no warm-up"), (0, "warm-up"), (1, "no warm-up"),
                                                                (1, "warm-up")]
    assert len(calls) == 3 * 2 * 3  # per lr and seed: 2 recipes × (2 phases + the adapter)


def _fresh(world, data, config) -> CoLAWorld:
    model = CoLAWorld(**config)
    model.normalizer.fit(data.a)
    model.world = world  # the trunk parameters the test tells apart: the pretrained world model's
    return model


def test_lac_wm_temporal_attention_starts_as_the_identity_then_is_frame_causal():
    """A.5 adds the FDM's temporal attention to a trained FDM: zero-initialised, it leaves each frame's
    prediction what the one-frame FDM gives; trained (randomised here), a frame's prediction reads the
    earlier frames and never the later ones."""
    torch.manual_seed(0)
    plain = randomised(LACWM(dim=16, depth=1))
    history = LACWM(dim=16, depth=1, history_frames=3)
    missing = history.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == sorted(f"fdm.{n}" for n, _ in history.fdm.named_parameters()
                                     if n == "frame_pos" or n.startswith("temporal."))
    assert len(history.fdm.temporal_parameters()) == len(missing)
    history.eval()
    x, z = tokens(2, 3), torch.randn(2, 3, 16)
    window = history.predict_window(x, z)
    for t in range(3):
        assert torch.allclose(window[:, t], plain.predict_next(x[:, t], z[:, t]), atol=1e-5)
    trained = randomised(history)
    window = trained.predict_window(x, z)
    later = trained.predict_window(torch.cat([x[:, :2], tokens(2, 1, seed=5)], 1), z)
    earlier = trained.predict_window(torch.cat([tokens(2, 1, seed=5), x[:, 1:]], 1), z)
    assert torch.allclose(window[:, :2], later[:, :2], atol=1e-6) and not torch.allclose(window[:, 2], later[:, 2])
    assert not torch.allclose(window[:, 2], earlier[:, 2], atol=1e-4)
    assert torch.allclose(trained.predict_next(x[:, 0], z[:, 0]), window[:, 0], atol=1e-6)
