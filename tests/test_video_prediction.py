"""video_prediction v2: the named variants' constants, what every FVD clip holds, the SSIM
convention, non-square recordings adapted to the model's declared size, and v1 still loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lawm_eval.catalog import suite_manifest
from lawm_eval.errors import ConfigError, LawmEvalError
from lawm_eval.runner.records import EPISODES_FILE, read_records
from lawm_eval.runner.run import run_evaluation
from lawm_eval.suites.video_prediction import VARIANT_KEYS, VARIANTS, VideoPredictionSuite

FAST = ("suite.fid=false", "suite.fvd=false", "executor.progress=off")


def suite(version: str | None = None, **params) -> VideoPredictionSuite:
    return VideoPredictionSuite(suite_manifest("video_prediction", version), params)


def setup_of(s: VideoPredictionSuite) -> dict:
    return dict(s.setup)


def records(outcome) -> list:
    recs = read_records(outcome.run_dir / EPISODES_FILE)[0]
    assert recs and [r.error for r in recs if r.error] == []
    return recs


# -- constants ----------------------------------------------------------------------------------
def test_variant_constants_are_pinned():
    assert {name: [getattr(v, k) for k in VARIANT_KEYS] for name, v in VARIANTS.items()} == {
        #         context, horizon, chunk, FVD ground-truth frames, windows
        "vp2": [2, 10, 1, 1, 1056],  # vp2 config.yaml:12-13, compute_model_fvd.py:18, 64-67, 92-101, 122-123
        "bfa": [1, 8, 5, 2, 512],  # LAC-WM §6.1, §4.2-4.3 (FVD composition: lawm-eval's, I3D needs 10 frames)
        "lawm_v1": [2, 8, 1, 2, 512],  # suites/video_prediction/v1.yaml
    }
    assert VARIANTS["vp2"].resolution == (64, 64) and VARIANTS["bfa"].resolution == (256, 256)
    v1 = suite_manifest("video_prediction", "v1").params
    assert [v1[k] for k in VARIANT_KEYS] == [getattr(VARIANTS["lawm_v1"], k) for k in VARIANT_KEYS]


def test_v2_manifest_defaults_to_vp2_and_cites_every_variant_constant():
    manifest = suite_manifest("video_prediction")
    assert manifest.version == "v2" and manifest.params["variant"] == "vp2"
    assert all(manifest.params[k] is None for k in VARIANT_KEYS)  # taken from the variant
    assert manifest.params["ssim"] == "valid" and manifest.params["camera"] is None
    assert {"mse", "psnr", "ssim", "lpips", "fid", "fvd"} == set(manifest.metrics)
    for name in ("vp2", "bfa"):
        for key in (*VARIANT_KEYS, "resolution"):
            assert f"variant.{name}.{key}" in manifest.sources, (name, key)
    assert "compute_model_fvd.py" in manifest.sources["variant.vp2.fvd_context_frames"]
    assert setup_of(suite()) == {"context_frames": 2, "horizon": 10, "action_chunk": 1, "fvd_context_frames": 1,
                                 "windows": 1056}


def test_each_variant_sets_its_constants_and_explicit_values_win():
    bfa = suite(variant="bfa")
    assert setup_of(bfa) == {"context_frames": 1, "horizon": 8, "action_chunk": 5, "fvd_context_frames": 2,
                             "windows": 512}
    # the FVD clip starts one recorded frame before the observation: windows span 2 + 8 frames, 5 rows apart
    assert bfa.lead == 2 and bfa.window_length() == (2 + 8 - 1) * 5 + 1
    assert bfa.fvd_clip() == {"frames": 10, "ground_truth_frames": 2, "predicted_frames": 8, "unseen_by_model": 1}
    vp2 = suite(horizon=12, fvd_context_frames=0)
    assert vp2.setup["context_frames"] == 2 and vp2.setup["horizon"] == 12 and vp2.window_length() == 14
    assert vp2.fvd_clip() == {"frames": 12, "ground_truth_frames": 0, "predicted_frames": 12, "unseen_by_model": 0}
    assert "horizon=12 (variant vp2: 10)" in vp2.deviations()
    assert not any(d.startswith("variant=") for d in suite(variant="bfa").deviations())  # a variant is no deviation
    assert any("1 ground-truth frame(s) (0 not shown to the model) + 10 predicted" in d for d in suite().deviations())


def test_fvd_on_predicted_frames_only_needs_ten_of_them():
    assert suite(fvd_context_frames=0).fvd_clip()["frames"] == 10  # vp2: 10 predicted
    with pytest.raises(ConfigError, match=r"FVD clips need ≥ 10 frames, got 0 ground-truth \+ 8 predicted"):
        suite(variant="lawm_v1", fvd_context_frames=0)
    with pytest.raises(ConfigError, match="got 1 ground-truth"):
        suite(variant="bfa", fvd_context_frames=1)
    assert suite(variant="bfa", fvd_context_frames=1, fvd=False).fvd_clip()["frames"] == 9  # no FVD: allowed


def test_v1_keeps_its_deviations():
    texts = suite("v1", windows=2).deviations()
    assert "windows=2 (reference 512)" in texts
    assert any(t.startswith("FVD clips hold 2 observed + 8 predicted") for t in texts)
    assert not any("variant" in t or "ground-truth frame(s)" in t for t in texts)


def test_bad_variant_ssim_and_constants_are_config_errors():
    with pytest.raises(ConfigError, match="suite.variant must be one of vp2, bfa, lawm_v1, got 'vp3'"):
        suite(variant="vp3")
    with pytest.raises(ConfigError, match="suite.ssim must be one of valid, torchmetrics"):
        suite(ssim="padded")
    with pytest.raises(ConfigError, match="must be ≥ 1"):
        suite(context_frames=0)
    with pytest.raises(ConfigError, match="suite.horizon must be an integer"):
        suite(horizon="ten")


def test_bfa_chunk_on_data_recorded_at_one_row_per_chunk_says_what_to_set(compose):
    with pytest.raises(LawmEvalError, match="set suite.action_chunk=1"):
        run_evaluation(compose("suite=video_prediction", "suite.variant=bfa", "model=copy_last", "suite.windows=1",
                               *FAST, "run_id=bfa5"))


# -- FVD clip composition -----------------------------------------------------------------------
def test_fvd_clips_are_ground_truth_head_then_predictions(monkeypatch):
    """The clips that go through I3D: the real one, then per condition the first k real frames and the
    H predicted ones."""
    import lawm_eval.metrics.distribution as distribution

    seen = []

    def fake_features(videos):
        seen.append(videos.clone())
        return np.random.default_rng(len(seen)).normal(size=(len(videos), 400))

    monkeypatch.setattr(distribution, "i3d_features", fake_features)
    s = suite(fid=False)  # vp2: 1 ground-truth + 10 predicted
    real_clip = torch.rand(1, 11, 3, 16, 16)
    predictions = {"controller": torch.rand(1, 10, 3, 16, 16), "copy_last": torch.rand(1, 10, 3, 16, 16)}
    states = s.distribution_states(real_clip[0, 1:], real_clip, predictions)
    (clips,) = seen
    assert clips.shape == (3, 11, 3, 16, 16)
    assert torch.equal(clips[0], real_clip[0])
    for i, condition in enumerate(predictions, start=1):
        assert torch.equal(clips[i, :1], real_clip[0, :1]) and torch.equal(clips[i, 1:], predictions[condition][0])
    assert states["fvd_controller"].frames == {"real": 11, "fake": 11}


@pytest.mark.slow
def test_fvd_composition_is_recorded_in_every_record(compose):
    outcome = run_evaluation(compose("suite=video_prediction", "model=copy_last", "suite.windows=2",
                                     "suite.conditions=[controller]", "executor.progress=off", "run_id=vp2_fvd"))
    for rec in records(outcome):
        assert rec.contract["fvd_clip"] == {"frames": 11, "ground_truth_frames": 1, "predicted_frames": 10,
                                            "unseen_by_model": 0}
        assert rec.info["fvd_ground_truth_frames"] == 1 and rec.contract["variant"] == "vp2"
        assert rec.contract["ssim"] == rec.info["ssim"] == "valid"
    merged = outcome.summary["merged_metrics"]["fvd_controller"]
    assert merged["n_fake"] == 2 and merged["frames_fake"] == 22


# -- window alignment, conventions, real-shaped data --------------------------------------------
def expected_copy_mse(frames: np.ndarray, start: int, lead: int, horizon: int, chunk: int) -> float:
    """MSE of repeating the last observed recorded frame over the horizon, on [0,1]."""
    clip = frames[start : start + (lead + horizon - 1) * chunk + 1 : chunk].astype(np.float64) / 255
    return float(((clip[lead:] - clip[lead - 1]) ** 2).mean())


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["vp2", "bfa"])
def test_windows_align_with_the_recorded_frames(compose, variant):
    """model=copy_last repeats the last frame it observed: its MSE pins which recorded frames are
    context and which are the future, for each variant (bfa: the FVD head frame is not observed)."""
    from lawm_eval.data.formats import open_dataset
    from lawm_eval.data.recipes import resolve_dataset

    chunk = ["suite.action_chunk=1"] if variant == "bfa" else []
    outcome = run_evaluation(compose("suite=video_prediction", f"suite.variant={variant}", *chunk, "model=copy_last",
                                     "suite.windows=3", "suite.conditions=[copy_last]", *FAST, f"run_id={variant}"))
    dataset = open_dataset(resolve_dataset("franka_val"))
    lead, horizon = (2, 8) if variant == "bfa" else (2, 10)
    for rec in records(outcome):
        frames = dataset.episode(rec.info["episode"]).frames
        assert rec.metrics["mse_copy_last"] == pytest.approx(
            expected_copy_mse(frames, rec.info["start"], lead, horizon, 1), rel=1e-5)
        assert rec.contract["context_frames"] == (1 if variant == "bfa" else 2)


@pytest.mark.slow
def test_ssim_convention_is_a_suite_parameter(compose):
    runs = {c: records(run_evaluation(compose("suite=video_prediction", "model=copy_last", "suite.windows=2",
                                              "suite.conditions=[copy_last]", f"suite.ssim={c}", *FAST,
                                              f"run_id=ssim_{c}")))
            for c in ("valid", "torchmetrics")}
    for valid, padded in zip(runs["valid"], runs["torchmetrics"]):
        assert (valid.info["start"], valid.info["episode"]) == (padded.info["start"], padded.info["episode"])
        assert valid.contract["ssim"] == "valid" and padded.contract["ssim"] == "torchmetrics"
        assert valid.metrics["ssim_copy_last"] != padded.metrics["ssim_copy_last"]
        assert valid.metrics["psnr_copy_last"] == padded.metrics["psnr_copy_last"]
    assert any("ssim='torchmetrics'" in d for d in runs["torchmetrics"][0].deviations)


def write_wide_dataset(root, episodes: int = 3):
    """lawm-eval's generated Franka clips as a 192×320 recording: each 64×64 frame scaled to 192×192,
    centred between static textured bands (a centre crop recovers the scene)."""
    from PIL import Image

    from lawm_eval.data.episode import Episode
    from lawm_eval.data.formats import open_dataset
    from lawm_eval.data.lerobot import write_lerobot
    from lawm_eval.data.recipes import resolve_dataset

    source = open_dataset(resolve_dataset("franka_val"))
    band = np.random.default_rng(1).integers(30, 100, size=(192, 320, 3), dtype=np.uint8)
    wide = []
    for i in range(episodes):
        ep = source.episode(i)
        frames = np.repeat(band[None], len(ep), axis=0)
        for t, frame in enumerate(ep.frames):
            frames[t, :, 64:256] = np.asarray(Image.fromarray(frame).resize((192, 192), Image.BICUBIC))
        wide.append(Episode(frames, ep.actions, ep.states, task=ep.task, fps=ep.fps))
    return write_lerobot(root, wide, source.episode(0).fps or 4)


@pytest.mark.slow
def test_a_non_square_recording_runs_at_each_models_resolution(compose, tmp_path):
    path = write_wide_dataset(tmp_path / "wide")
    common = ("suite=video_prediction", f"suite.dataset={path}", "suite.windows=2")
    # a bundled model declares 64×64 (centre crop): frames and ground truth adapted, every metric at 64×64
    lawm = records(run_evaluation(compose(*common, "model=lawm", *FAST, "run_id=wide_lawm")))
    for rec in lawm:
        assert rec.contract["recorded_resolution"] == [192, 320] and rec.contract["resolution"] == [64, 64]
        assert rec.contract["resize"] == rec.contract["declared_inputs"]["resize"] != "none"
        assert rec.info["resolution"] == [64, 64]
        assert rec.contract["action_dim"] == 7 and rec.contract["future_frames"] == "gt_latent"
        assert np.isfinite(rec.metrics["psnr_controller"]) and rec.metrics["psnr_controller"] > 15
    # a model without a declared size gets the recording as is; FID and FVD take any size
    copy = run_evaluation(compose(*common, "model=copy_last", "suite.conditions=[copy_last]", "executor.progress=off",
                                  "run_id=wide_copy"))
    for rec in records(copy):
        assert rec.info["resolution"] == [192, 320] and rec.contract["resize"] == "none"
    merged = copy.summary["merged_metrics"]
    assert merged["fid_copy_last"]["n_fake"] == 20 and merged["fvd_copy_last"]["frames_fake"] == 22
    assert json.dumps(records(copy)[0].contract)  # the contract is plain data


@pytest.mark.slow
def test_v1_still_loads_and_runs_with_its_own_constants(compose):
    s = suite("v1")
    assert s.version == "v1" and s.variant is None
    assert setup_of(s) == {"context_frames": 2, "horizon": 8, "action_chunk": 1, "fvd_context_frames": 2,
                           "windows": 512}
    outcome = run_evaluation(compose("suite=video_prediction", "suite.version=v1", "model=copy_last",
                                     "suite.windows=2", "suite.conditions=[copy_last]", *FAST, "run_id=v1"))
    for rec in records(outcome):
        assert rec.version == "v1" and rec.steps == 8
        assert "mse_copy_last" not in rec.metrics and "psnr_copy_last" in rec.metrics  # v1's metrics only


def test_the_context_is_encoded_apart_from_the_true_future():
    """An encoder that mixes frames in time gives the context states no view of the future."""
    from lawm_eval.bundle import ModelBundle
    from lawm_eval.suites.video_prediction import VideoPredictionSuite

    calls = []

    class TimeMixing:
        def encode(self, observations):  # (B,T,3,H,W) -> (B,T,2): every state is the mean of the call
            calls.append(observations.shape[1])
            return observations.float().mean(dim=(1, 2, 3, 4))[:, None, None].expand(-1, observations.shape[1], 2)

    video = torch.zeros(1, 12, 3, 8, 8)
    video[:, 2:] = 1.0  # a bright future
    states = VideoPredictionSuite.encode_window(ModelBundle("m", encoder=TimeMixing()), video, 2)
    assert calls == [2, 10] and states.shape == (1, 12, 2)
    assert float(states[:, :2].abs().max()) == 0.0  # the context states saw only the dark context
