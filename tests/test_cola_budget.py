"""scripts/cola_budget.py: CoLA-World and its two-stage baseline at a multiple of the bundled budget. Every phase
gets the scaled steps, the paper's adapter follows, and the checkpoint runs as the bundled model's
``model.checkpoint``."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.models.train import cola_world as recipe
from lawm_eval.models.zoo import build_bundled
from tests.scripts_loader import exit_2_stderr, load_script
from tests.test_cola_adapter_through_world import fixture_transitions

script = load_script("cola_budget")


def test_the_budget_at_one_is_the_bundled_recipe_and_scales_every_phase():
    assert script.budget(1) == {"pretrain": recipe.PRETRAIN_STEPS, "total": recipe.LAM_STEPS + recipe.WM_STEPS,
                                "warm": recipe.WARM_STEPS, "lam": recipe.LAM_STEPS}
    assert script.budget(3) == {"pretrain": 6000, "total": 9000, "warm": 1200, "lam": 4500}


@pytest.mark.parametrize("name, phases", [("cola_world", ("cola", 1200, 9000)), ("cola_two_stage", ("two", 4500, 4500)),
                                          ("cola_world_no_warmup", ("cola", 0, 9000))])
def test_each_recipe_trains_its_phases_at_the_scaled_steps(monkeypatch, name, phases):
    calls = []
    bundled = object()  # stands for the trained model
    monkeypatch.setattr(recipe, "pretrained_world", lambda data, steps: calls.append(("pretrain", steps)) or "world")
    monkeypatch.setattr(recipe, "cola", lambda world, data, held, warm, total: calls.append(("cola", warm, total))
                        or (bundled, {}, ["cola curve"]))
    monkeypatch.setattr(recipe, "two_stage", lambda world, data, held, lam, wm: calls.append(("two", lam, wm))
                        or (bundled, {}, ["two-stage curve"]))
    monkeypatch.setattr(recipe, "freeze_lam", lambda model: model)
    monkeypatch.setattr(recipe, "train_adapter", lambda model, data, steps: calls.append(("adapter", model is bundled, steps)))
    assert script.trained(name, None, None, 3) == (bundled, [f"{phases[0].replace('two', 'two-stage')} curve"])
    assert calls == [("pretrain", 6000), phases, ("adapter", True, recipe.ADAPTER_STEPS)]


def test_a_tiny_budget_trains_a_checkpoint_that_runs_as_the_bundled_model(tmp_path, monkeypatch):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    data = fixture_transitions()
    model, usage = script.trained("cola_world", data, data, 0.005, adapter_steps=20)
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


def test_the_plot_reads_the_three_checkpoints_curves_and_a_missing_one_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("lawm_eval.models.train.artifacts.REPO_DOCS", tmp_path / "docs")
    curve = [{"step": 50 * i, "utilisation": 0.5, "normalised_entropy": 0.4, "max_usage": 0.3} for i in range(1, 4)]
    weights = torch.nn.Linear(1, 1)
    for name in ("cola_world", "cola_two_stage"):
        script.save_model(script.checkpoint_file(name, 0.5), name, weights, {}, {"codebook_curve": curve})
    monkeypatch.setattr("sys.argv", ["cola_budget.py", "--scale", "0.5", "--plot"])
    with pytest.raises(SystemExit) as exit_info:
        script.main()
    assert exit_info.value.code == 2
    assert "--scale 0.5 --models cola_world_no_warmup" in capsys.readouterr().err.strip().splitlines()[-1]
    script.save_model(script.checkpoint_file("cola_world_no_warmup", 0.5), "cola_world", weights, {})
    with pytest.raises(SystemExit) as exit_info:
        script.main()
    assert exit_info.value.code == 2 and "holds no codebook curve" in capsys.readouterr().err
    script.save_model(script.checkpoint_file("cola_world_no_warmup", 0.5), "cola_world", weights, {},
                      {"codebook_curve": curve})
    script.main()
    assert (tmp_path / "docs" / "cola_codebook_x0.5.png").stat().st_size > 1000


def test_late_codes_average_the_last_sixth_of_the_curve():
    curve = [{"step": step, "utilisation": used / 32, "codes": 32} for step, used in [(50, 20), (100, 9), (550, 4), (600, 2)]]
    assert script.late_codes(curve) == pytest.approx(3.0)  # the points after step 500 of 600
    assert script.late_codes(curve[:1]) == pytest.approx(20.0)


@pytest.mark.parametrize("argv, message", [
    (["--scale", "0"], "0 is not a budget multiple"), (["--scale", "many"], "many is not a budget multiple"),
    (["--scale", "0.0001"], "0.0001 is not a budget multiple"), (["--scale", "inf"], "inf is not a budget multiple"), (["--models", "lac_wm"], "invalid choice: 'lac_wm'"),
])
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, argv, message):
    assert message in exit_2_stderr(script, argv, monkeypatch, capsys)[-1]
