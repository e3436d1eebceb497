"""MSE, PSNR and SSIM (both conventions) against torchmetrics and scikit-image; closed forms; merging shards."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.metrics.image import MSE, PSNR, SSIM, mse, psnr, ssim


def pair(seed=0, n=6, size=32):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(n, 3, size, size, generator=g)
    pred = (target + 0.1 * torch.randn(n, 3, size, size, generator=g)).clamp(0, 1)
    return pred, target


def test_psnr_matches_torchmetrics_per_image():
    pred, target = pair()
    ours = psnr(pred, target)
    ref = torch.stack([peak_signal_noise_ratio(p[None], t[None], data_range=1.0) for p, t in zip(pred, target)])
    assert torch.allclose(ours, ref.double(), rtol=1e-4)
    ref_mean = peak_signal_noise_ratio(pred, target, data_range=1.0, dim=(1, 2, 3), reduction="elementwise_mean")
    assert float(ours.mean()) == pytest.approx(float(ref_mean), rel=1e-4)


def test_ssim_matches_skimage_and_torchmetrics_on_the_valid_region():
    """SSIM is averaged over the valid region (no padding), as Wang et al.'s ssim.m, TF and
    scikit-image do. torchmetrics 1.x averages over a reflect-padded full image instead, so we
    compare with its SSIM map cropped to the valid region."""
    pred, target = pair(size=40)
    ours = ssim(pred, target)
    ref_tm = []
    for p, t in zip(pred, target):
        _, full_map = structural_similarity_index_measure(
            p[None].double(), t[None].double(), gaussian_kernel=True, sigma=1.5, kernel_size=11, data_range=1.0,
            return_full_image=True)
        ref_tm.append(full_map[..., 5:-5, 5:-5].mean())
    assert torch.allclose(ours, torch.stack(ref_tm), rtol=1e-4)
    ref_sk = [structural_similarity(p.permute(1, 2, 0).double().numpy(), t.permute(1, 2, 0).double().numpy(),
                                    gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                    data_range=1.0, channel_axis=2) for p, t in zip(pred, target)]
    assert np.allclose(ours.numpy(), ref_sk, rtol=1e-4)


def natural_pair(size=(64, 64)) -> tuple[torch.Tensor, torch.Tensor]:
    """A natural image (scikit-image's astronaut) at ``size`` and a noisy copy, (1,3,h,w) float64."""
    from PIL import Image
    from skimage import data

    image = np.asarray(Image.fromarray(data.astronaut()).resize(size[::-1], Image.BILINEAR)) / 255.0
    noisy = np.clip(image + np.random.default_rng(0).normal(0, 0.05, image.shape), 0, 1)
    return tuple(torch.from_numpy(x).permute(2, 0, 1)[None] for x in (noisy, image))


@pytest.mark.parametrize("size", [(64, 64), (48, 80)])
def test_ssim_valid_convention_is_scikit_image(size):
    pred, target = natural_pair(size)
    ref = structural_similarity(pred[0].permute(1, 2, 0).numpy(), target[0].permute(1, 2, 0).numpy(),
                                gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0,
                                channel_axis=2)
    assert float(ssim(pred, target, convention="valid")) == pytest.approx(ref, rel=1e-9)
    assert float(ssim(pred.float(), target.float())) == pytest.approx(ref, rel=1e-5)  # the default


@pytest.mark.parametrize("size", [(64, 64), (48, 80)])
def test_ssim_torchmetrics_convention_is_torchmetrics_default(size):
    """torchmetrics' own call with its defaults (Gaussian kernel, σ 1.5) and data_range 1: the
    reflect-padded full map. On a natural 64×64 pair the two conventions are a few % apart."""
    pred, target = natural_pair(size)
    ours = ssim(pred, target, convention="torchmetrics")
    for dtype, rel in ((torch.float64, 1e-9), (torch.float32, 1e-5)):
        ref = structural_similarity_index_measure(pred.to(dtype), target.to(dtype), data_range=1.0)
        assert float(ssim(pred.to(dtype), target.to(dtype), convention="torchmetrics")) == pytest.approx(float(ref),
                                                                                                      rel=rel)
    valid = ssim(pred, target, convention="valid")
    assert abs(float(ours / valid) - 1) > 0.01  # the borders matter at this size


def test_ssim_metric_class_keeps_its_convention():
    pred, target = natural_pair()
    metric = SSIM("torchmetrics")
    metric.update(pred, target)
    assert metric.init_kwargs() == {"convention": "torchmetrics"}
    assert metric.compute()["value"] == pytest.approx(float(ssim(pred, target, convention="torchmetrics")))
    assert SSIM().convention == "valid"
    with pytest.raises(ConfigError, match="SSIM convention must be one of valid, torchmetrics"):
        ssim(pred, target, convention="same")


def test_mse_per_frame_and_merged():
    pred, target = pair(n=4)
    expected = ((pred - target) ** 2).flatten(1).mean(1).double()
    assert torch.allclose(mse(pred, target), expected)
    assert torch.allclose(psnr(pred, target), -10 * torch.log10(expected), rtol=1e-5)
    metric = MSE()
    metric.update(pred[:2], target[:2])
    other = MSE()
    other.update(pred[2:], target[2:])
    assert metric.merge(other).compute()["value"] == pytest.approx(float(expected.mean()), rel=1e-6)


def test_closed_forms():
    x = torch.rand(2, 3, 16, 16)
    assert torch.isinf(psnr(x, x)).all()
    assert torch.allclose(ssim(x, x), torch.ones(2, dtype=torch.float64))
    # constant error e: MSE = e², PSNR = −20 log10(e)
    assert torch.allclose(psnr(torch.full((1, 1, 4, 4), 0.5), torch.full((1, 1, 4, 4), 0.6)),
                          torch.tensor([20.0], dtype=torch.float64), atol=1e-9)


def test_videos_are_scored_per_frame():
    pred, target = pair(n=6)
    video_pred, video_target = pred.view(2, 3, 3, 32, 32), target.view(2, 3, 3, 32, 32)
    assert torch.allclose(psnr(video_pred, video_target), psnr(pred, target))


@pytest.mark.parametrize("metric_cls", [MSE, PSNR, SSIM])
def test_merging_shards_equals_all_data(metric_cls):
    pred, target = pair(n=9)
    whole = metric_cls()
    whole.update(pred, target)
    shards = [metric_cls() for _ in range(3)]
    for i, shard in enumerate(shards):
        shard.update(pred[3 * i: 3 * i + 3], target[3 * i: 3 * i + 3])
    merged = shards[0].merge(shards[1]).merge(shards[2])
    assert merged.compute()["value"] == pytest.approx(whole.compute()["value"], rel=1e-12)
    assert merged.compute()["n"] == whole.compute()["n"] == 9


def test_psnr_metric_reports_inf_for_identical_frames():
    metric = PSNR()
    x = torch.rand(2, 3, 8, 8)
    metric.update(x, x)
    assert metric.compute()["value"] == math.inf and metric.compute()["n"] == 2


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ModelError, match="differs from target shape"):
        psnr(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
    with pytest.raises(ModelError, match="NaN"):
        psnr(torch.full((1, 3, 8, 8), float("nan")), torch.rand(1, 3, 8, 8))
    with pytest.raises(ModelError, match="at least 11"):
        ssim(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
