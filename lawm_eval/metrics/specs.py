"""What each reported number is: how it is aggregated, which direction is better, its unit.

One home for these facts. A record's metric key finds its spec by the longest spec name that is
the key or a prefix of it followed by '_' (``psnr_controller`` → ``psnr``); keys with no spec are
averaged with a t interval and carry no direction.

A key ``<metric>@<reference>`` (``delta_xyz@zero``) is the same metric scored for a reference plan
on the same episode (the planning suites' zero-action, random and privileged plans); its spec is
the metric's, and the leaderboard turns each reference into a row of its own. For the ``PAIRED``
metrics the model's row also carries ``<metric>_vs_<reference>``, the per-episode difference model −
reference (its spec is the metric's, so lower is better: below 0 the model's plan is the better one).
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
    cls: str | None = None  # "module:Class" of its mergeable Metric, where it has one
    extra: str | None = None  # the extra its Metric class needs (reference network weights)

    @property
    def interval(self) -> str | None:
        """The 95% interval method reported beside the value."""
        return {MEAN: "t", RATE: "wilson"}.get(self.aggregation)

    @property
    def summary(self) -> str:
        """One line for ``lawm-eval ls metrics``."""
        better = {True: "higher is better", False: "lower is better"}.get(self.higher_is_better, "")
        facts = ", ".join(x for x in (self.unit, self.aggregation + (f" ({self.interval} 95%)" if self.interval
                                                                     else ""), better) if x)
        return f"{self.description} [{facts}]"


_SPECS = [
    MetricSpec("success_rate", "episodes that reached the goal (errored episodes count as failures)", RATE, True,
               cls="lawm_eval.metrics.success:SuccessRate"),
    MetricSpec("episode_length", "environment steps until success or the step cap", MEAN, None, "steps"),
    MetricSpec("final_distance", "distance to the goal at the end of the episode", MEAN, False),
    MetricSpec("min_distance", "closest approach to the goal", MEAN, False),
    MetricSpec("plan_cost", "the planner's objective value for its plan", MEAN, False),
    MetricSpec("expert_plan_cost", "the model's objective value for the expert actions", MEAN, None),
    MetricSpec("zero_plan_cost", "the model's objective value for the zero-action plan", MEAN, None),
    MetricSpec("plan_below_expert", "share of episodes where the model scores its plan below the expert actions "
               "(model error, not search error)", RATE, False),
    MetricSpec("expert_below_zero", "share of episodes where the model scores the expert actions below the zero "
               "plan (it tells the true motion from none)", RATE, True),
    MetricSpec("delta_xyz", "L1 of summed planned vs expert xyz deltas", MEAN, False, "m",
               cls="lawm_eval.metrics.trajectory:DeltaXYZ"),
    MetricSpec("delta_orientation", "L1 of summed planned vs expert rotation deltas", MEAN, False, "rad"),
    MetricSpec("delta_gripper", "L1 of summed planned vs expert gripper deltas", MEAN, False),
    MetricSpec("delta_total", "L1 of summed planned vs expert deltas over all action dims", MEAN, False),
    MetricSpec("ate", "absolute trajectory error (translation RMSE, no alignment)", MEAN, False, "m",
               cls="lawm_eval.metrics.trajectory:ATE"),
    MetricSpec("rpe", "relative pose error (translation RMSE, delta 1 frame)", MEAN, False, "m",
               cls="lawm_eval.metrics.trajectory:RPE"),
    MetricSpec("final_position_error", "distance between the planned and the true final position", MEAN, False, "m"),
    MetricSpec("ate_waypoints", "ATE in NWM's RECON waypoint units (ate / 0.25 m), the unit NWM reports", MEAN, False,
               "waypoints of 0.25 m"),
    MetricSpec("rpe_waypoints", "RPE in NWM's RECON waypoint units (rpe / 0.25 m), the unit NWM reports", MEAN, False,
               "waypoints of 0.25 m"),
    MetricSpec("mse", "mean squared error of predicted frames on [0,1] pixels (VP²'s per-frame metric)", MEAN, False,
               cls="lawm_eval.metrics.image:MSE"),
    MetricSpec("psnr", "peak signal-to-noise ratio of predicted frames", MEAN, True, "dB",
               cls="lawm_eval.metrics.image:PSNR"),
    MetricSpec("ssim", "structural similarity of predicted frames", MEAN, True, cls="lawm_eval.metrics.image:SSIM"),
    MetricSpec("lpips", "learned perceptual distance of predicted frames", MEAN, False,
               cls="lawm_eval.metrics.image:LPIPS", extra="metrics"),
    MetricSpec("fid", "Fréchet Inception Distance over all predicted frames", MERGED, False,
               cls="lawm_eval.metrics.distribution:FID", extra="metrics"),
    MetricSpec("fvd", "Fréchet Video Distance over all predicted clips", MERGED, False,
               cls="lawm_eval.metrics.distribution:FVD", extra="metrics"),
    MetricSpec("probe", "L1 of a linear probe from latent to real actions", MEAN, False),
    MetricSpec("cca", "first canonical correlation of latent and real actions", MEAN, True,
               cls="lawm_eval.metrics.latent:CCA"),
    MetricSpec("codebook", "VQ codebook health (utilisation, perplexity, max usage)", MEAN, None,
               cls="lawm_eval.metrics.latent:Codebook"),
    MetricSpec("codebook_utilisation", "fraction of codes used", MEAN, True),
    MetricSpec("leakage_ratio", "world-model error on scene cuts over error on real transitions", MEAN, True),
    MetricSpec("error", "world-model prediction error (component of a ratio)", MEAN, False),
    MetricSpec("cycle_ratio", "error after a latent-action cycle over the direct error", MEAN, False),
    MetricSpec("controller_ratio", "rollout error with controller latents over IDM latents", MEAN, False),
    MetricSpec("rollout_error", "rollout prediction error (component of a ratio)", MEAN, False),
    MetricSpec("embedding_distance", "L2 distance between embeddings", MEAN, False,
               cls="lawm_eval.metrics.trajectory:EmbeddingDistance"),
    MetricSpec("pca_explained", "variance of latent actions explained by the first principal components", MEAN, None),
    MetricSpec("alignment_identification", "held-out accuracy of a linear classifier telling the dataset (embodiment) "
               "from the latent action (chance: the largest dataset's share)", MEAN, None),
    MetricSpec("alignment_neighbour_purity", "share of a latent action's 10 nearest neighbours from its own dataset "
               "(embodiment)", MEAN, None),
    MetricSpec("sr_contact", "episodes in which the hand touched the object (LAC-WM's S.R.C.)", RATE, True),
    MetricSpec("sr_lift", "episodes in which the object was lifted ≥ 5 cm off the counter for ≥ 1 s (S.R.L.)", RATE,
               True),
    MetricSpec("delta_f", "embedding distance between each subgoal image and the image reached at its step, "
                          "mean over subgoals (LAC-WM's δf)", MEAN, False),
    MetricSpec("delta_f_goal", "embedding distance between the final goal image and the final image (δf_g)", MEAN,
               False),
    MetricSpec("selected_distance", "the world model's predicted distance of the chosen candidates to their "
                                    "subgoals, in its own embedding, mean over subgoals", MEAN, False),
]
SPECS: dict[str, MetricSpec] = {spec.name: spec for spec in _SPECS}


REFERENCE_SEP = "@"
REFERENCES = {  # reference name -> the model name its leaderboard row shows
    "zero": "reference: zero-action plan",
    "random": "reference: random plan",
    "privileged": "reference: privileged plan (true dynamics)",
}


PAIRED = ("delta_xyz", "ate")  # the planning suites' headline metrics, also reported as model − reference per episode
PAIRED_SEP = "_vs_"  # 'delta_xyz_vs_zero': the model's delta_xyz minus the zero plan's, on the same episodes


def split_reference(key: str) -> tuple[str, str | None]:
    """'delta_xyz@zero' -> ('delta_xyz', 'zero'); a key without a reference -> (key, None)."""
    base, sep, reference = key.partition(REFERENCE_SEP)
    return (base, reference) if sep and base and reference else (key, None)


def reference_label(reference: str) -> str:
    """The model name of a reference's leaderboard row."""
    return REFERENCES.get(reference, f"reference: {reference}")


def spec_for(key: str) -> MetricSpec:
    """The spec of a reported metric key (see the module docstring); a ``@reference`` suffix is ignored."""
    key = split_reference(key)[0]
    best = None
    for name, spec in SPECS.items():
        if (key == name or key.startswith(name + "_")) and (best is None or len(name) > len(best.name)):
            best = spec
    return best or MetricSpec(key, "", MEAN)


def base_name(key: str) -> str:
    """The spec name a key belongs to (the key itself when no spec matches)."""
    return spec_for(key).name
