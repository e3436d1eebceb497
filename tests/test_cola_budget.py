"""scripts/cola_budget.py: CoLA-World and its two-stage baseline at a multiple of the bundled budget. Every phase
gets the scaled steps, the paper's adapter follows, and the checkpoint runs as the bundled model's
``model.checkpoint``."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.models.train import cola_world as recipe
from lawm_eval.models.zoo import build_bundled, load_bundled
from tests.scripts_loader import load_script
from tests.test_cola_adapter_through_world import fixture_transitions

script = load_script("cola_budget")


def test_the_budget_at_one_is_the_bundled_recipe_and_scales_every_phase():
    assert script.budget(1) == {"pretrain": recipe.PRETRAIN_STEPS, "total": recipe.LAM_STEPS + recipe.WM_STEPS,
                                "warm": recipe.WARM_STEPS, "lam": recipe.LAM_STEPS}
    assert script.budget(3) == {"pretrain": 6000, "total": 9000, "warm": 1200, "lam": 4500}


@pytest.mark.parametrize("name, phases", [("cola_world", ("cola", 1200, 9000)), ("cola_two_stage", ("two", 4500, 4500))])
def test_each_recipe_trains_its_phases_at_the_scaled_steps(monkeypatch, name, phases):
    calls = []
    bundled, _, _ = load_bundled(name)
    monkeypatch.setattr(recipe, "pretrained_world", lambda data, steps: calls.append(("pretrain", steps)) or "world")
    monkeypatch.setattr(recipe, "cola", lambda world, data, held, warm, total: calls.append(("cola", warm, total))
                        or (bundled, {}, []))
    monkeypatch.setattr(recipe, "two_stage", lambda world, data, held, lam, wm: calls.append(("two", lam, wm))
                        or (bundled, {}, []))
    monkeypatch.setattr(recipe, "train_adapter", lambda model, data, steps: calls.append(("adapter", steps)))
    assert script.trained(name, None, None, 3) is bundled
    assert calls == [("pretrain", 6000), phases, ("adapter", recipe.ADAPTER_STEPS)]


def test_a_tiny_budget_trains_a_checkpoint_that_runs_as_the_bundled_model(tmp_path, monkeypatch):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    data = fixture_transitions()
    model = script.trained("cola_world", data, data, 0.005, adapter_steps=20)
    metrics = script.held_out_metrics(model, data)
    assert {"perplexity", "adapter_code_accuracy", "gt_latent_mse", "controller_mse", "copy_last_mse"} <= set(metrics)
    assert 0 <= metrics["adapter_code_accuracy"] <= 1 and metrics["codes"] == recipe.CONFIG["codes"]
    path = script.save_model(script.checkpoint_file("cola_world", 0.005), "cola_world", model, recipe.CONFIG)
    assert path.is_relative_to(tmp_path) and path.name == "cola_world_x0.005.pt"
    bundle = build_bundled("cola_world", checkpoint=str(path))
    actions = torch.randn(2, 3, 7)
    with torch.no_grad():
        expected = model.control(actions.flatten(0, 1), None).view(2, 3, -1)
    assert torch.allclose(bundle.controller.to_latent(actions, None), expected)


@pytest.mark.parametrize("argv, message", [
    (["--scale", "0"], "0 is not a budget multiple"), (["--scale", "many"], "many is not a budget multiple"),
    (["--scale", "0.0001"], "0.0001 is not a budget multiple"), (["--models", "lac_wm"], "invalid choice: 'lac_wm'"),
])
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, argv, message):
    monkeypatch.setattr("sys.argv", ["cola_budget.py", *argv])
    with pytest.raises(SystemExit) as exit_info:
        script.main()
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]
