"""What each reported number is: how it is aggregated, which direction is better, its unit.

One home for these facts. A record's metric key finds its spec by the longest spec name that is
the key or a prefix of it followed by '_' (``psnr_controller`` → ``psnr``); keys with no spec are
averaged with a t interval and carry no direction.
"""

from __future__ import annotations

from dataclasses import dataclass

MEAN, RATE, MERGED = "mean", "rate", "merged"


@dataclass(frozen=True)
class MetricSpec:
    name: str
    description: str
    aggregation: str = MEAN  # mean: per-episode values averaged; rate: successes/n; merged: states merged
    higher_is_better: bool | None = None
    unit: str = ""

    @property
    def interval(self) -> str | None:
        """The 95% interval method reported beside the value."""
        return {MEAN: "t", RATE: "wilson"}.get(self.aggregation)


_SPECS = [
    MetricSpec("success_rate", "episodes that reached the goal (errored episodes count as failures)", RATE, True),
    MetricSpec("episode_length", "environment steps until success or the step cap", MEAN, None, "steps"),
    MetricSpec("final_distance", "distance to the goal at the end of the episode", MEAN, False),
    MetricSpec("min_distance", "closest approach to the goal", MEAN, False),
    MetricSpec("plan_cost", "the planner's objective value for its plan", MEAN, False),
    MetricSpec("delta_xyz", "L1 of summed planned vs expert xyz deltas", MEAN, False, "m"),
    MetricSpec("delta_orientation", "L1 of summed planned vs expert rotation deltas", MEAN, False, "rad"),
    MetricSpec("delta_gripper", "L1 of summed planned vs expert gripper deltas", MEAN, False),
    MetricSpec("delta_total", "L1 of summed planned vs expert deltas over all action dims", MEAN, False),
    MetricSpec("ate", "absolute trajectory error (translation RMSE, no alignment)", MEAN, False, "m"),
    MetricSpec("rpe", "relative pose error (translation RMSE, delta 1 frame)", MEAN, False, "m"),
    MetricSpec("final_position_error", "distance between the planned and the true final position", MEAN, False, "m"),
    MetricSpec("psnr", "peak signal-to-noise ratio of predicted frames", MEAN, True, "dB"),
    MetricSpec("ssim", "structural similarity of predicted frames", MEAN, True),
    MetricSpec("lpips", "learned perceptual distance of predicted frames", MEAN, False),
    MetricSpec("fid", "Fréchet Inception Distance over all predicted frames", MERGED, False),
    MetricSpec("fvd", "Fréchet Video Distance over all predicted clips", MERGED, False),
    MetricSpec("probe", "L1 of a linear probe from latent to real actions", MEAN, False),
    MetricSpec("cca", "first canonical correlation of latent and real actions", MEAN, True),
    MetricSpec("codebook", "VQ codebook health (utilisation, perplexity, max usage)", MEAN, None),
    MetricSpec("codebook_utilisation", "fraction of codes used", MEAN, True),
    MetricSpec("leakage_ratio", "world-model error on scene cuts over error on real transitions", MEAN, True),
    MetricSpec("error", "world-model prediction error (component of a ratio)", MEAN, False),
    MetricSpec("cycle_ratio", "error after a latent-action cycle over the direct error", MEAN, False),
    MetricSpec("controller_ratio", "rollout error with controller latents over IDM latents", MEAN, False),
    MetricSpec("rollout_error", "rollout prediction error (component of a ratio)", MEAN, False),
    MetricSpec("pca_explained", "variance of latent actions explained by the first principal components", MEAN, None),
]
SPECS: dict[str, MetricSpec] = {spec.name: spec for spec in _SPECS}


def spec_for(key: str) -> MetricSpec:
    """The spec of a reported metric key (see the module docstring)."""
    best = None
    for name, spec in SPECS.items():
        if (key == name or key.startswith(name + "_")) and (best is None or len(name) > len(best.name)):
            best = spec
    return best or MetricSpec(key, "", MEAN)


def base_name(key: str) -> str:
    """The spec name a key belongs to (the key itself when no spec matches)."""
    return spec_for(key).name
