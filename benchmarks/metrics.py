"""Time lawm-eval's metrics against the reference libraries on the same fixed inputs, in one run.

    python benchmarks/metrics.py            # writes the 'metrics' section of docs/performance.md

References: torchmetrics (PSNR, SSIM), the lpips package (LPIPS), pytorch-fid (Inception features +
its sqrtm-based Fréchet distance), cd-fvd (I3D preprocessing + features + its sqrtm distance).
Both sides use the same converted weights and 1 torch/BLAS thread (lawm-eval's worker default).
"""

from __future__ import annotations

import os
import sys
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from perf_doc import median_time, write_section  # noqa: E402

warnings.filterwarnings("ignore")
GOAL = 1.1


def inputs():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(64, 3, 64, 64, generator=g)
    pred = (target + 0.1 * torch.randn(target.shape, generator=g)).clamp(0, 1)
    videos_real = torch.rand(8, 16, 3, 64, 64, generator=g)
    videos_fake = (videos_real + 0.1 * torch.randn(videos_real.shape, generator=g)).clamp(0, 1)
    return pred, target, videos_real, videos_fake


def bench_psnr_ssim(pred, target):
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    from lawm_eval.metrics.image import psnr, ssim

    rows = []
    ours = median_time(lambda: psnr(pred, target).mean(), repeats=20)
    ref = median_time(lambda: peak_signal_noise_ratio(pred, target, data_range=1.0, dim=(1, 2, 3)), repeats=20)
    rows.append(("PSNR", "64×3×64² frames", ours, ref, "torchmetrics"))
    ours = median_time(lambda: ssim(pred, target).mean(), repeats=10)
    ref = median_time(lambda: structural_similarity_index_measure(pred, target, data_range=1.0), repeats=10)
    rows.append(("SSIM", "64×3×64² frames", ours, ref, "torchmetrics"))
    return rows


def bench_lpips(pred, target):
    from lawm_eval.metrics.image import lpips
    from lawm_eval.metrics.weights import lpips_network

    network = lpips_network("alex")
    ours = median_time(lambda: lpips(pred, target, "alex").mean())

    def reference():
        with torch.no_grad():
            return network(pred, target, normalize=True).mean()

    return [("LPIPS (AlexNet)", "64 pairs 64²", ours, median_time(reference), "lpips package")]


def bench_fid(pred, target):
    from pytorch_fid.fid_score import calculate_frechet_distance

    from lawm_eval.metrics.distribution import FID
    from lawm_eval.metrics.weights import fid_inception

    def ours():
        metric = FID()
        metric.update(real=target, fake=pred)
        return metric.compute()["value"]

    network = fid_inception()

    def reference():
        with torch.no_grad():
            a = network(target)[0].flatten(1).numpy().astype(np.float64)
            b = network(pred)[0].flatten(1).numpy().astype(np.float64)
        return calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))

    return [("FID", "32 vs 32 frames 64² (→299²)", median_time(ours, repeats=3), median_time(reference, repeats=3),
             "pytorch-fid")]


def bench_fvd(videos_real, videos_fake):
    from cdfvd.fvd import cdfvd  # noqa: F401  (import check: the reference package)
    from cdfvd.third_party.i3d.utils import preprocess_i3d
    from cdfvd.utils.metric_utils import FeatureStats as CdStats
    from scipy import linalg

    from lawm_eval.metrics.distribution import FVD
    from lawm_eval.metrics.weights import i3d_network

    def ours():
        metric = FVD()
        metric.update(real=videos_real, fake=videos_fake)
        return metric.compute()["value"]

    network = i3d_network()
    real_u8 = (videos_real.permute(0, 1, 3, 4, 2) * 255).round().to(torch.uint8).numpy()
    fake_u8 = (videos_fake.permute(0, 1, 3, 4, 2) * 255).round().to(torch.uint8).numpy()

    def reference():
        stats = []
        for videos in (real_u8, fake_u8):
            s = CdStats(capture_mean_cov=True)
            with torch.no_grad():
                s.append_torch(network(preprocess_i3d(videos)), num_gpus=1, rank=0)
            stats.append(s.get_mean_cov())
        (mu_r, sig_r), (mu_f, sig_f) = stats
        covmean, _ = linalg.sqrtm(sig_r @ sig_f, disp=False)
        return float(np.real(((mu_r - mu_f) ** 2).sum() + np.trace(sig_r + sig_f - 2 * covmean)))

    return [("FVD", "8 vs 8 videos, 16×64² (→224²)", median_time(ours, repeats=3), median_time(reference, repeats=3),
             "cd-fvd")]


def main() -> None:
    torch.set_num_threads(1)
    pred, target, videos_real, videos_fake = inputs()
    rows = bench_psnr_ssim(pred, target) + bench_lpips(pred, target) + bench_fid(pred[:32], target[:32])
    rows += bench_fvd(videos_real, videos_fake)
    lines = [
        "## Metrics vs reference libraries (`benchmarks/metrics.py`)",
        "",
        f"Same inputs, same weights, 1 thread; ratio = lawm-eval / reference (goal ≤ {GOAL}×).",
        "",
        "| metric | input | lawm-eval (s) | reference (s) | ratio | reference |",
        "|---|---|---|---|---|---|",
    ]
    for name, what, ours, ref, lib in rows:
        lines.append(f"| {name} | {what} | {ours:.4f} | {ref:.4f} | {ours / ref:.2f}× | {lib} |")
        print(f"{name:<16} ours {ours:.4f}s  ref {ref:.4f}s  ratio {ours / ref:.2f}")
    write_section("metrics", "\n".join(lines))


if __name__ == "__main__":
    main()
