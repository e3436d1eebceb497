"""CI regression for the bundled tiny checkpoints and the model config files they come from: each
model builds through its config's factory with the parts its config lists, each checkpoint loads
with weights_only=True, recomputes its golden numbers on the committed fixture batch (held-out
windows), and — recomputed here, not read from its training run — beats copy-last there."""

from __future__ import annotations

import json
from functools import cache
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from lawm_eval.bundle import ModelBundle, make_bundle
from lawm_eval.errors import ConfigError
from lawm_eval.interfaces import MODEL_PARTS
from lawm_eval.models.specs import bundled_specs, model_spec, model_specs
from lawm_eval.models.train.__main__ import ARTEFACTS
from lawm_eval.models.train.artifacts import load_golden
from lawm_eval.models.train.evaluate import lam_golden, load_fixture
from lawm_eval.models.zoo import autoencoder_names, bundled_spec, checkpoint_path, load_autoencoder
from lawm_eval.paths import data_dir

BUNDLED = sorted(bundled_specs())
WORLD_MODELS = [name for name in BUNDLED if "world_model" in model_spec(name).parts]
CHECKPOINTS = [*autoencoder_names(), *BUNDLED, *ARTEFACTS]  # artefacts: trained networks that are no models
TOLERANCE = dict(rel=1e-4, abs=1e-6)


@cache
def build(name: str) -> ModelBundle:
    """The bundle ``model=<name>`` runs: the factory of its config file with the file's keys."""
    return make_bundle(model_spec(name).config)


def numbers(golden: dict) -> dict:
    return {k: v for k, v in golden.items() if isinstance(v, float)}


def held_out_windows(dataset: str, encoder) -> tuple[torch.Tensor, torch.Tensor]:
    """The committed fixture: 8 windows of 4 frames from held-out episodes, encoded, and their
    3 actions: (8,4,16,32), (8,3,A)."""
    fixture = load_fixture(dataset)
    return encoder.encode(torch.from_numpy(fixture["frames"])), torch.from_numpy(fixture["actions"]).float()


def test_every_committed_checkpoint_is_a_bundled_model_an_autoencoder_or_a_named_artefact():
    committed = {path.parent.name for path in data_dir("baselines").glob("*/model.pt")}
    assert committed == set(CHECKPOINTS) and WORLD_MODELS


# policy_server needs a running server (tests/test_policy_server.py builds it against one); lerobot a saved
# LeRobot policy and its environment (tests/test_lerobot.py builds it from a randomly initialised ACT)
@pytest.mark.parametrize("name", sorted(set(model_specs()) - {"custom", "linear", "policy_server", "lerobot"}))
def test_each_model_builds_the_parts_its_config_lists(name):
    suite = SimpleNamespace(name="stub", action_dim=7)  # noop/random read the action dimension
    bundle = make_bundle(model_spec(name).config, suite)
    assert bundle.model_id == name
    assert bundle.parts() == [p for p in MODEL_PARTS if p in model_spec(name).parts]
    bundle.require(bundle.parts(), "any")  # each part implements its protocol


def test_the_linear_model_builds_the_parts_its_config_lists(compose):
    from lawm_eval.runner.build import build_model, build_suite

    config = compose("model=linear")
    bundle = build_model(config, build_suite(config))
    assert bundle.parts() == [p for p in MODEL_PARTS if p in model_spec("linear").parts]


def named_factory(name, width: int = 1, suite=None):
    return {"info": {"name": name, "width": width, "suite": suite}}


def test_the_factory_gets_the_flat_keys_and_the_name_but_no_metadata():
    config = {"name": "mine", "factory": "test_bundled:named_factory", "description": "d", "parts": [],
              "bundled": None, "extra": None, "width": 3}
    assert make_bundle(config, suite="S").info == {"name": "mine", "width": 3, "suite": "S"}
    with pytest.raises(ConfigError, match=r"model 'mine' has no parameter\(s\) depth \(its factory "
                                          r"test_bundled:named_factory takes: width\)"):
        make_bundle({**config, "depth": 2})


@pytest.mark.parametrize("factory, message", [
    ("no_such_pkg_xyz.mod:f", "model.factory 'no_such_pkg_xyz.mod:f': module 'no_such_pkg_xyz' not found"),
    ("math:no_such_thing", "model.factory 'math:no_such_thing': 'math' has no attribute 'no_such_thing'"),
    ("math:pi", "model.factory 'math:pi' is a float, not a callable factory"),
    ("no_colon", "model.factory 'no_colon': bad import target"),
])
def test_a_bad_factory_is_one_config_error_naming_it(factory, message):
    with pytest.raises(ConfigError) as info:
        make_bundle({"name": "custom", "factory": factory})
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_checkpoint_is_small_and_loads_weights_only(name):
    path = checkpoint_path(name)
    assert path.stat().st_size <= 5 * 1024 * 1024
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["method"] == name


@pytest.mark.parametrize("name", WORLD_MODELS)
def test_world_model_golden_numbers(name):
    bundle = build(name)
    golden = load_golden(name)
    recomputed = lam_golden(bundle.world_model, bundle.encoder, golden["dataset"])
    assert numbers(recomputed) == pytest.approx(numbers(golden), **TOLERANCE)
    assert bundle.checkpoint_sha256 and len(bundle.checkpoint_sha256) == 64


def mse(predicted: torch.Tensor, target: torch.Tensor) -> float:
    return float((predicted - target).pow(2).mean())


def one_step(world_model, x: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
    """Teacher-forced next states of every transition: (B,T+1,S), (B,T,L) -> (B,T,S)."""
    return torch.cat([world_model.step(x[:, t : t + 1], latents[:, t : t + 1]) for t in range(latents.shape[1])], 1)


# On the 24 transitions of the committed BFA fixture these adaptations' one-step error is 0.1-0.6 % above
# copy-last's (their 3-step rollouts beat it by 3-6 %; on the 22 held-out episodes one step beats it by 1-2 %).
BFA_ONE_STEP_BEHIND_COPY = {"eac_wm_bfa", "eac_wm_bfa_e1", "eac_wm_bfa_e2", "lac_wm_bfa", "lac_wm_bfa_e1"}
BFA_SHORT_TRAINING = pytest.mark.xfail(strict=True, reason=(
    "this BFA adaptation (800 pretraining + 2400 adaptation steps, a CPU budget) predicts one step of the BFA "
    "fixture 0.1-0.6 % worse than copy-last (its rollout beats it): the hand is a small part of a frame that "
    "barely changes in 5 steps (docs/protocols/bfa.md, 'Bundled models')"))


def real_action_windows(name: str):
    """The bundled model, copy-last, the fixture's (B, 4, 16, 32) token windows and real-action latents."""
    bundle, copy_last = build(name), build("copy_last")
    x, actions = held_out_windows(load_golden(name)["dataset"], bundle.encoder)
    return bundle, copy_last, x, bundle.controller.to_latent(actions, x[:, :-1])


# CoLA-World's two-stage baseline with the paper's recipe (one-step loss, no code resets): its LAM uses
# 7 of 32 codes and the adapter picks the right code for 48 % of held-out tokens, so one step from real
# actions is 6 % worse than copy-last (its 3-step rollout and its GT-LAM latents beat it; docs/models.md)
COLA_TWO_STAGE_ADAPTER = pytest.mark.xfail(strict=True, reason=(
    "cola_two_stage's code-classifying adapter (48 % code accuracy) makes one step from real actions 6 % "
    "worse than copy-last (docs/models.md, CoLA-World)"))


# The same baseline with a world model reading 3 frames: its LAM uses 6 codes and the adapter picks the right
# code for 40 % of held-out tokens; through the adapter the world model does not follow the actions (CoLA-World
# with history, trained alongside it at the same budget, does: docs/models.md)
COLA_TWO_STAGE_HISTORY_ADAPTER = pytest.mark.xfail(strict=True, reason=(
    "cola_two_stage_history's code-classifying adapter (40 % code accuracy): from real actions one step is 25 % "
    "worse than copy-last, 3 steps barely better held out (0.01103 vs 0.01123) and behind it on the fixture, and "
    "another window's actions predict as well (docs/models.md, CoLA-World)"))


# The two-stage baseline with continuous latents: its MLP adapter explains 11 % of the variance of the IDM's μ,
# which carries more than the action says; held out over all transitions it beats copy-last (one step 0.00518 vs
# 0.00597, 3 steps 0.00870 vs 0.01123), on the fixture's 24 windows it does not (CoLA-World's does: docs/models.md)
COLA_TWO_STAGE_VAE_ADAPTER = pytest.mark.xfail(strict=True, reason=(
    "cola_two_stage_vae's action-only adapter: on the fixture, one step from real actions 0.00330 against copy-last's "
    "0.00260 and 3 steps 0.00631 against 0.00618, ahead of copy-last on all held-out transitions (docs/models.md)"))


def adapter_mark(name: str):
    return {"cola_two_stage_history": COLA_TWO_STAGE_HISTORY_ADAPTER, "cola_two_stage_vae": COLA_TWO_STAGE_VAE_ADAPTER}.get(name)


@pytest.mark.parametrize("name", [pytest.param(name, marks=adapter_mark(name)) if adapter_mark(name) else name
                                  for name in WORLD_MODELS])
def test_world_model_rollout_beats_copy_last_frame_on_held_out_windows(name):
    """The 3-step open-loop rollout from real actions (what the planning suites score), through the model
    interface the suites use, on the committed fixture; copy-last is the registered `copy_last` model."""
    bundle, copy_last, x, latents = real_action_windows(name)
    rollout = bundle.world_model.rollout(x[:, :1], latents)
    assert mse(rollout, x[:, 1:]) < mse(copy_last.world_model.rollout(x[:, :1], latents), x[:, 1:])


def one_step_mark(name: str):
    if name in BFA_ONE_STEP_BEHIND_COPY:
        return BFA_SHORT_TRAINING
    return COLA_TWO_STAGE_ADAPTER if name == "cola_two_stage" else adapter_mark(name)


@pytest.mark.parametrize("name", [pytest.param(name, marks=one_step_mark(name)) if one_step_mark(name) else name
                                  for name in WORLD_MODELS])
def test_world_model_one_step_beats_copy_last_frame_on_held_out_windows(name):
    """Every teacher-forced one-step prediction from real actions, on the committed fixture."""
    bundle, copy_last, x, latents = real_action_windows(name)
    assert mse(one_step(bundle.world_model, x, latents), x[:, 1:]) < mse(one_step(copy_last.world_model, x, latents),
                                                                           x[:, 1:])


PROJECTOR_ADAPTED = pytest.mark.xfail(strict=True, reason=(
    "LAC-WM's adaptation ends with the FDM's LoRA trained on the action projector's latents (stage 3, §3.2; at "
    "inference only the projector and the FDM are used), so the adapted FDM no longer predicts well from the IDM's "
    "latents: held-out GT-latent MSE above copy-last (BFA: docs/protocols/bfa.md, 'Bundled models'; the Franka arm "
    "held out: 0.00424 against 0.00367 after 10,800 adaptation steps, docs/models.md)"))


def adapted_lac_wm(name: str) -> bool:
    """The LAC-WMs adapted to an embodiment their pretraining did not see (the paper's three stages)."""
    return name.startswith("lac_wm") and ("bfa" in name or name.endswith("_to_franka"))


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=PROJECTOR_ADAPTED) if adapted_lac_wm(name) else name for name in WORLD_MODELS
    if "lam" in model_spec(name).parts])
def test_idm_latents_predict_better_than_copy_last(name):
    """The world model from the IDM's latents of the true transitions beats copying the last frame."""
    bundle = build(name)
    x, _ = held_out_windows(load_golden(name)["dataset"], bundle.encoder)
    assert mse(one_step(bundle.world_model, x, bundle.lam.infer(x)), x[:, 1:]) < mse(x[:, :-1], x[:, 1:])


IGNORE_ACTIONS = pytest.mark.xfail(strict=True, reason=(
    "CoLA-World's RoboDesk adaptation keeps the Franka LAM frozen (App. B); on RoboDesk its latents carry no motion "
    "(the world model predicts equally well from the no-motion latent), so the adapter learns the most frequent "
    "codes and the predictions do not follow the actions (docs/protocols/vp2_robodesk.md, 'Bundled models')"))


# the Franka LAM, frozen, codes LIBERO transitions with 4 of its 32 codes (perplexity 2.2): the adapted
# two-stage world model predicts LIBERO frames well (one step 0.00166 vs copy-last 0.00506) but hardly from
# the latent, so neither the actions nor the IDM's latent move its predictions (docs/models.md, CoLA-World)
LIBERO_CODES_COLLAPSED = pytest.mark.xfail(strict=True, reason=(
    "cola_two_stage_libero: the frozen Franka LAM codes LIBERO with a few codes, the adapted world model "
    "predicts from the frame alone (docs/models.md)"))


@pytest.mark.parametrize("name", [pytest.param(name, marks=IGNORE_ACTIONS) if name.endswith("_robodesk") else
                                  pytest.param(name, marks=LIBERO_CODES_COLLAPSED) if name == "cola_two_stage_libero"
                                  else pytest.param(name, marks=COLA_TWO_STAGE_HISTORY_ADAPTER)
                                  if name == "cola_two_stage_history" else name for name in WORLD_MODELS])
def test_world_model_predictions_depend_on_the_actions(name):
    """Each window's own actions predict its future better than another window's actions do."""
    bundle = build(name)
    x, actions = held_out_windows(load_golden(name)["dataset"], bundle.encoder)

    def rollout_error(acts: torch.Tensor) -> float:
        return mse(bundle.world_model.rollout(x[:, :1], bundle.controller.to_latent(acts, x[:, :-1])), x[:, 1:])

    others = np.mean([rollout_error(actions.roll(shift, dims=0)) for shift in range(1, len(actions))])
    assert rollout_error(actions) < others


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=(
        "on the navigation fixture's 24 transitions lam_nav's IDM latents predict no better than those of a "
        "no-motion pair (one-step token MSE 0.0208 vs 0.0201); on all 234 held-out transitions they do (0.0174 vs "
        "0.0238), and its controller uses the actions (0.0121 vs 0.0299 with shuffled actions)"
    ))) if name == "lam_nav" else
    pytest.param(name, marks=PROJECTOR_ADAPTED) if name == "lac_wm_bfa_e1" else
    pytest.param(name, marks=LIBERO_CODES_COLLAPSED) if name == "cola_two_stage_libero" else
    pytest.param(name, marks=IGNORE_ACTIONS) if name.endswith("_robodesk") else name  # a no-motion pair gets the same code
    for name in WORLD_MODELS if "lam" in model_spec(name).parts
])
def test_idm_latents_carry_the_transition(name):
    """The IDM's latent of each true pair (x_t, x_t+1) predicts x_t+1 better than its latent of the
    no-motion pair (x_t, x_t) does."""
    bundle = build(name)
    x, _ = held_out_windows(load_golden(name)["dataset"], bundle.encoder)
    no_motion = torch.stack([bundle.lam.infer(torch.stack([x[:, t], x[:, t]], 1))[:, 0] for t in range(3)], 1)
    error = mse(one_step(bundle.world_model, x, bundle.lam.infer(x)), x[:, 1:])
    assert error < mse(one_step(bundle.world_model, x, no_motion), x[:, 1:])


def test_eac_wm_on_navigation_uses_the_navigation_action_encoder():
    bundle = make_bundle({**model_spec("eac_wm").config, "embodiment": "navigation"})
    assert bundle.info["embodiment"] == "navigation" and bundle.lam is None
    x, actions = held_out_windows("navigation", bundle.encoder)  # (8,3,3) mobile-base actions
    rollout = bundle.world_model.rollout(x[:, :1], bundle.controller.to_latent(actions, None))
    assert mse(rollout, x[:, 1:]) < mse(x[:, :1].expand_as(x[:, 1:]), x[:, 1:])


def test_autoencoder_golden_numbers():
    from lawm_eval.models.train.visual_ae import autoencoder_golden

    assert autoencoder_golden(load_autoencoder()) == pytest.approx(load_golden("visual_ae"), **TOLERANCE)
    robodesk = load_autoencoder("visual_ae_robodesk")
    assert autoencoder_golden(robodesk, ("robodesk",)) == pytest.approx(load_golden("visual_ae_robodesk"), **TOLERANCE)
    # fine-tuning is what lets it read RoboDesk: the shared autoencoder reconstructs those frames far worse
    shared = autoencoder_golden(load_autoencoder(), ("robodesk",))
    assert load_golden("visual_ae_robodesk")["robodesk_recon_mse"] < 0.25 * shared["robodesk_recon_mse"]
    bfa = load_autoencoder("visual_ae_bfa")  # fine-tuned on BFA, Franka, navigation and RoboDesk frames
    assert autoencoder_golden(bfa, ("bfa",)) == pytest.approx(load_golden("visual_ae_bfa"), **TOLERANCE)
    assert load_golden("visual_ae_bfa")["bfa_recon_mse"] < autoencoder_golden(load_autoencoder(), ("bfa",))["bfa_recon_mse"]
    libero = load_autoencoder("visual_ae_libero")  # fine-tuned on the LIBERO oracle's libero_object demos
    assert autoencoder_golden(libero, ("libero_object_demos",)) == pytest.approx(load_golden("visual_ae_libero"),
                                                                              **TOLERANCE)
    shared = autoencoder_golden(load_autoencoder(), ("libero_object_demos",))
    assert load_golden("visual_ae_libero")["libero_object_demos_recon_mse"] < shared["libero_object_demos_recon_mse"]


def adapted_suite(domain):
    return SimpleNamespace(name="stub", action_dim=5, domain=domain)


def test_cola_models_take_their_robodesk_adaptation_where_the_suite_is_robodesk():
    for name in ("cola_world", "cola_two_stage"):
        adapted = make_bundle(model_spec(name).config, adapted_suite("robodesk"))
        assert adapted.model_id == f"{name}_robodesk" and adapted.info["adapted_to"] == "robodesk"
        assert adapted.inputs.action_dim == 5 and adapted.info["autoencoder"] == "visual_ae_robodesk"
        assert adapted.encoder is load_autoencoder("visual_ae_robodesk")
        original = make_bundle(model_spec(name).config, adapted_suite(None))
        assert original.model_id == name and original.inputs.action_dim == 7 and "adapted_to" not in original.info
        kept = make_bundle({**model_spec(name).config, "domain": "original"}, adapted_suite("robodesk"))
        assert kept.model_id == name
    with pytest.raises(ConfigError, match=r"model 'cola_world' has no adaptation to domain 'navigation' "
                                          r"\(model.domain: auto, original, libero, robodesk\)"):
        make_bundle({**model_spec("cola_world").config, "domain": "navigation"}, adapted_suite(None))
    # cola_world_history is a model of its own, not an adaptation of cola_world to a domain "history"
    assert make_bundle(model_spec("cola_world").config, adapted_suite("history")).model_id == "cola_world"
    with pytest.raises(ConfigError, match="no adaptation to domain 'history'"):
        make_bundle({**model_spec("cola_world").config, "domain": "history"}, adapted_suite(None))


def test_the_robodesk_adapter_classifies_codes_and_looks_them_up():
    network = build("cola_world_robodesk").controller
    actions = torch.tensor([[0.5, -0.5, 0.2, 0.0, 1.0], [-0.3, 0.4, -0.1, 0.1, -1.0]])
    logits = network.adapter_logits(actions)  # (2, tokens, codes)
    assert logits.shape == (2, network.latent_tokens, network.codes_per_token)
    expected = network.vq.codebook.weight[logits.argmax(-1)].flatten(1)
    assert torch.equal(network.control(actions, None), expected)
    metrics = json.loads((data_dir("baselines") / "cola_world_robodesk" / "metrics.json").read_text())
    assert metrics["adapter_code_accuracy"] > 1 / network.codes_per_token  # better than chance on held-out data


def test_policy_golden_numbers():
    autoencoder = load_autoencoder()
    fixture = load_fixture("franka")
    x = autoencoder.encode(torch.from_numpy(fixture["frames"]))[:, 0]
    tasks = torch.zeros(len(x), dtype=torch.long)
    lawam = build("lawam").policy.network
    first = lawam.act_tokens(x, tasks)[0]  # (H, A): the deterministic chunk
    golden = np.asarray(load_golden("lawam")["first_chunk"])
    assert first.numpy().ravel().tolist() == pytest.approx(golden.ravel().tolist(), **TOLERANCE)
    libero = build("lawam_libero")
    frames = torch.from_numpy(load_fixture(load_golden("lawam_libero")["dataset"])["frames"][:1, :1])
    first = libero.policy.network.act_tokens(libero.encoder.encode(frames)[:, 0], torch.zeros(1, dtype=torch.long))[0]
    golden = np.asarray(load_golden("lawam_libero")["first_chunk"])  # (8, 7): one executed LIBERO chunk
    assert golden.shape == (8, 7) and first.numpy().ravel().tolist() == pytest.approx(golden.ravel().tolist(), **TOLERANCE)
    vla = build("vla_flow")
    chunks = vla.sampler.network.act_tokens(x, tasks, torch.Generator().manual_seed(7))
    golden = np.asarray(load_golden("vla_flow")["first_chunk"])  # (H, A)
    assert chunks[0].numpy().ravel().tolist() == pytest.approx(golden.ravel().tolist(), **TOLERANCE)
    recorded = torch.from_numpy(fixture["actions"][:, :chunks.shape[1]])  # (B, H, A): the fixture's own actions
    assert float((chunks - recorded).abs().mean()) == pytest.approx(load_golden("vla_flow")["chunk_l1"], **TOLERANCE)


def test_policies_act_through_the_interface():
    bundle = build("vla_flow")
    frames = load_fixture("franka")["frames"]
    obs = {"image": frames[0, 0], "task": "pick up the cube"}
    bundle.policy.reset(3)
    first = bundle.policy.act(obs)
    assert first.shape == (3, 7)
    bundle.policy.reset(3)
    assert np.array_equal(bundle.policy.act(obs), first)  # reset(seed) makes acting repeatable
    bundle.policy.reset(4)
    assert not np.allclose(bundle.policy.act(obs), first)  # and the seed draws the noise
    samples = bundle.sampler.sample(obs, 5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, 3, 7) and np.std(samples, axis=0).mean() > 0  # diverse candidates
    again = bundle.sampler.sample(obs, 5, torch.Generator().manual_seed(0))
    assert np.array_equal(samples, again)
    lawam = build("lawam").policy

    def act(image: np.ndarray) -> np.ndarray:
        lawam.reset(0)  # the same flow-matching noise for each call
        return lawam.act({"image": image})

    small = act(frames[0, 0])
    assert small.shape == (5, 7)  # one 5-frame chunk (1.25 s at 4 fps)
    assert not np.allclose(act(frames[3, 0]), small)  # another scene, another chunk
    big = np.repeat(np.repeat(frames[0, 0], 4, axis=0), 4, axis=1)  # a 256×256 camera image is resized
    assert np.allclose(act(big), small, atol=0.05)


def test_suites_name_their_domain_and_the_cola_models_follow_it(compose):
    from lawm_eval.runner.build import build_suite

    robodesk_data = build_suite(compose("suite=video_prediction", "suite.dataset=robodesk_val"))
    franka_data = build_suite(compose("suite=video_prediction"))
    planning = build_suite(compose("suite=vp2_robodesk"))
    assert (robodesk_data.domain, franka_data.domain, planning.domain) == ("robodesk", "franka", "robodesk")
    assert make_bundle(model_spec("cola_world").config, robodesk_data).model_id == "cola_world_robodesk"
    assert make_bundle(model_spec("cola_world").config, franka_data).model_id == "cola_world"
    assert make_bundle(model_spec("cola_two_stage").config, planning).model_id == "cola_two_stage_robodesk"
    imagined = build_suite(compose("suite=libero_imagined"))
    assert imagined.domain == "libero"
    adapted = make_bundle(model_spec("cola_world").config, imagined)
    assert adapted.model_id == "cola_world_libero" and adapted.inputs.action_dim == 56  # one executed chunk
    assert adapted.info["autoencoder"] == "visual_ae_libero"


def test_rebuilding_everything_trains_each_model_after_the_checkpoints_it_reads():
    from lawm_eval.models.train.__main__ import training_order, written_together

    order = training_order()
    position = {model: i for i, run in enumerate(order) for model in written_together(run) if run not in ARTEFACTS}
    assert set(BUNDLED) <= set(position)  # every bundled model is written by one run of `all`
    for name in BUNDLED:
        for dependency in bundled_spec(name).after:
            assert position[dependency] < position[name] or written_together(dependency) == written_together(name)
    assert position["lawm_libero"] < position["lawam_libero"] < len(order)  # the LIBERO LaWAM freezes lawm_libero
