"""scripts/cola_adapter_through_world.py: the bundled CoLA-World with a fresh adapter trained through its frozen
world model. Only the adapter changes, its latent is not snapped to a code, training lowers the one-step error
through the world model, and the saved checkpoint runs as the bundled model's ``model.checkpoint``."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.errors import ConfigError
from lawm_eval.models.train.data import windows
from lawm_eval.models.train.evaluate import load_fixture
from lawm_eval.models.zoo import build_bundled, checkpoint_path, load_bundled
from tests.scripts_loader import exit_2_stderr, load_script

script = load_script("cola_adapter_through_world")


def fixture_transitions():
    """The committed Franka fixture's 8 windows as single transitions (24 of them), encoded."""
    fixture = load_fixture("franka")
    autoencoder = build_bundled("cola_world").encoder
    xs = list(autoencoder.encode(torch.from_numpy(fixture["frames"])))  # 8 × (4, 16, 32)
    actions = [torch.from_numpy(a).float() for a in fixture["actions"]]  # 8 × (3, 7)
    states = [torch.zeros(len(x), 1) for x in xs]
    return windows(xs, actions, states, [0] * len(xs), "franka")


def test_only_the_adapter_is_fresh_and_it_is_not_snapped_to_a_code():
    model, config = script.with_fresh_adapter("cola_world")
    bundled, _, _ = load_bundled("cola_world")
    assert config["adapter"] == "regress" and config["snap_adapter"] is False
    for key, value in model.state_dict().items():
        if not key.startswith("adapter."):
            assert torch.equal(value, bundled.state_dict()[key]), key
    latent = model.control(torch.randn(5, 7), None)  # (5, L)
    codebook = bundled.vq.codebook.weight  # (32, code_dim)
    distances = torch.cdist(latent.view(-1, codebook.shape[1]), codebook).min(1).values
    assert latent.shape == (5, model.latent_dim) and bool((distances > 1e-3).all())
    torch.randn(100)  # whatever the global generator drew before, the fresh adapter starts the same
    again, _ = script.with_fresh_adapter("cola_world")
    assert all(torch.equal(a, b) for a, b in zip(model.adapter.parameters(), again.adapter.parameters()))


def test_training_moves_the_adapter_alone_and_lowers_the_error_through_the_world_model():
    data = fixture_transitions()
    model, _ = script.with_fresh_adapter("cola_world")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    start = script.held_out_errors(model, data)
    script.train_through_world(model, data, steps=40)
    end = script.held_out_errors(model, data)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith("adapter.") for k in changed)
    assert end["controller_mse"] < start["controller_mse"]
    x, a = data.x, data.a[:, 0]  # (24, 2, 16, 32), (24, 7)
    with torch.no_grad():
        zero = model.predict_next(x[:, 0], model.control(torch.zeros_like(a), None))
        norm = model.control(a, None).norm(dim=1).mean()
        idm_norm = model.idm_latent(x[:, 0], x[:, 1]).norm(dim=1).mean()
    assert end["zero_action_mse"] == pytest.approx(float(((zero - x[:, 1]) ** 2).mean()), rel=1e-6)
    assert end["adapter_latent_norm"] == pytest.approx(float(norm), rel=1e-6)
    assert end["idm_latent_norm"] == pytest.approx(float(idm_norm), rel=1e-6)
    assert end["zero_action_mse"] != pytest.approx(end["controller_mse"], rel=1e-3)  # the actions matter


def test_the_saved_checkpoint_runs_as_the_bundled_model(tmp_path, monkeypatch):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    model, config = script.with_fresh_adapter("cola_world_vae")
    script.train_through_world(model, fixture_transitions(), steps=3)
    path = script.save_model(script.checkpoint_file("cola_world_vae"), "cola_world_vae", model, config)
    assert path.is_relative_to(tmp_path)
    bundle = build_bundled("cola_world_vae", checkpoint=str(path))
    actions = torch.randn(2, 3, 7)
    with torch.no_grad():
        expected = model.control(actions.flatten(0, 1), None).view(2, 3, -1)
    assert torch.allclose(bundle.controller.to_latent(actions, None), expected)


def test_a_history_model_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="not a one-frame CoLA-World model"):
        script.with_fresh_adapter("cola_world_history")


def test_another_checkpoint_of_the_model_is_adapted_into_a_file_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    source = tmp_path / "cola_world_lr0.0001.pt"
    bundled, _, _ = load_bundled("cola_world")
    with torch.no_grad():
        for parameter in bundled.world.parameters():
            parameter.add_(0.01)
    script.save_model(source, "cola_world", bundled, script.load_checkpoint(checkpoint_path("cola_world"))["config"])
    model, _ = script.with_fresh_adapter("cola_world", source)
    for key, value in bundled.world.state_dict().items():  # the given checkpoint's world model, not the bundled one's
        assert torch.equal(model.world.state_dict()[key], value), key
    assert script.checkpoint_file("cola_world", source).name == "cola_world_cola_world_lr0.0001.pt"
    assert script.checkpoint_file("cola_world", source) != script.checkpoint_file("cola_world")


@pytest.mark.parametrize("argv, message", [
    (["cola_world", "--checkpoint", "missing.pt"], "no checkpoint for 'cola_world'"),
    (["cola_world", "cola_world_vae", "--checkpoint", "missing.pt"], "--checkpoint holds one model"),
    (["cola_world", "--steps", "0"], "0 is not a number of steps"),
])
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, argv, message):
    assert message in exit_2_stderr(script, argv, monkeypatch, capsys)[-1]
