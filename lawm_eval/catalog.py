"""The registries with lawm-eval's built-in entries and every installed plugin's entries.

Built-ins are lazy ``module:attr`` strings and suite manifest paths: building the catalog reads
no simulator, Ray, Hydra or torch module.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from lawm_eval.errors import ConfigError
from lawm_eval.paths import data_dir
from lawm_eval.registry import Entry, Registry, import_target, plugin_entry_points
from lawm_eval.suites.manifest import SuiteManifest, latest_manifest_file, load_manifest

BUILTIN_MODELS: dict[str, tuple[str, str, str | None]] = {
    # name: (factory, description, extra)
    "linear": ("lawm_eval.models.linear:build_linear_model",
               "linear world model of the point mass (least squares), identity encoder/controller", None),
    "custom": ("lawm_eval.models.custom:build_custom_model",
               "your own model: model.target=package.module:factory model.params={...}", None),
    "lac_wm": ("lawm_eval.models.zoo:lac_wm", "LAC-WM (tiny; IDM + motion decoder, projector, rank-2 LoRA)", None),
    "eac_wm": ("lawm_eval.models.zoo:eac_wm", "EAC-WM (tiny; per-embodiment action encoders, no IDM)", None),
    "lawm": ("lawm_eval.models.zoo:lawm", "LaWM (tiny; KL posterior IDM, AdaLN decoder, state head)", None),
    "lawam": ("lawm_eval.models.zoo:lawam", "LaWAM-style policy on the LaWM subgoal (Franka frames)", None),
    "cola_world": ("lawm_eval.models.zoo:cola_world", "CoLA-World (tiny; ST-IDM + VQ 2x32, AdaLN WM, joint)", None),
    "cola_two_stage": ("lawm_eval.models.zoo:cola_two_stage", "CoLA-World's two-stage baseline (tiny)", None),
    "law": ("lawm_eval.models.zoo:law", "LAW (tiny; RSSM + latent actions + imitation, action fine-tune)", None),
    "lam_sparse": ("lawm_eval.models.zoo:lam_sparse", "latent-action WM, sparse latents (L1 + VCM)", None),
    "lam_noisy": ("lawm_eval.models.zoo:lam_noisy", "latent-action WM, noisy latents (KL)", None),
    "lam_discrete": ("lawm_eval.models.zoo:lam_discrete", "latent-action WM, discrete latents (VQ + reset)", None),
    "lam_nav": ("lawm_eval.models.zoo:lam_nav", "latent-action WM (noisy) on navigation data, (dx,dy,dyaw)", None),
    "vla_flow": ("lawm_eval.models.zoo:vla_flow", "VLA-style flow-matching policy sampling N action chunks", None),
    "copy_last": ("lawm_eval.models.baselines:copy_last", "baseline: every future frame is the last observed one", None),
    "oracle_droid": ("lawm_eval.models.baselines:oracle_droid",
                     "true Franka dynamics on the recorded state (droid_planning observation=state)", None),
    "oracle": ("lawm_eval.models.libero_oracle:libero_oracle",
               "scripted privileged LIBERO pick-and-place (reads simulator state)", None),
    "noop": ("lawm_eval.models.simple_policies:noop", "baseline policy: no motion, gripper open", None),
    "random": ("lawm_eval.models.simple_policies:random_policy", "baseline policy: uniform actions", None),
    "oracle_nav": ("lawm_eval.models.baselines:oracle_nav",
                   "true mobile-base dynamics on the recorded pose (recon_planning observation=state)", None),
}

BUILTIN_PLANNERS: dict[str, tuple[str, str]] = {
    "cem": ("lawm_eval.planners.cem:CEMPlanner", "cross-entropy method (jepa-wms and VP² variants)"),
    "mppi": ("lawm_eval.planners.mppi:MPPIPlanner", "MPPI with correlated noise (VP²)"),
    "random_shooting": ("lawm_eval.planners.random_shooting:RandomShootingPlanner",
                        "best of N random action sequences"),
    "random": ("lawm_eval.planners.random_shooting:RandomPlanner",
               "no-planning baseline: one random action sequence, the model is not queried"),
}

BUILTIN_EXECUTORS: dict[str, tuple[str, str, str | None]] = {
    "serial": ("lawm_eval.runner.executor:SerialExecutor", "episodes one after another in this process", None),
    "ray": ("lawm_eval.runner.ray_executor:RayExecutor", "parallel episodes on Ray actors (local or a cluster)", "ray"),
}

BUILTIN_METRICS: dict[str, tuple[str, str, str | None]] = {
    "success_rate": ("lawm_eval.metrics.success:SuccessRate", "success rate with a Wilson 95% interval", None),
    "mean": ("lawm_eval.metrics.stats:Mean", "mean of a per-episode value with a t 95% interval", None),
    "psnr": ("lawm_eval.metrics.image:PSNR", "peak signal-to-noise ratio on [0,1] frames (dB)", None),
    "ssim": ("lawm_eval.metrics.image:SSIM", "structural similarity, Gaussian window 11, sigma 1.5", None),
    "lpips": ("lawm_eval.metrics.image:LPIPS", "LPIPS v0.1, AlexNet (or VGG) trunk", "metrics"),
    "fid": ("lawm_eval.metrics.distribution:FID", "Frechet Inception Distance, pool3 of TF Inception-V3", "metrics"),
    "fvd": ("lawm_eval.metrics.distribution:FVD", "Frechet Video Distance, Kinetics-400 I3D logits", "metrics"),
    "ate": ("lawm_eval.metrics.trajectory:ATE", "absolute trajectory error (NWM/evo, no alignment)", None),
    "rpe": ("lawm_eval.metrics.trajectory:RPE", "relative pose error, translation, delta 1 frame", None),
    "delta_xyz": ("lawm_eval.metrics.trajectory:DeltaXYZ", "L1 of summed planned vs expert xyz deltas", None),
    "embedding_distance": ("lawm_eval.metrics.trajectory:EmbeddingDistance", "L2 between embeddings", None),
    "cca": ("lawm_eval.metrics.latent:CCA", "first canonical correlation latent vs real actions", None),
    "codebook": ("lawm_eval.metrics.latent:Codebook", "VQ codebook utilisation, entropy, max usage", None),
}


def _resolve_suite(entry: Entry) -> SuiteManifest:
    target = entry.target
    if isinstance(target, SuiteManifest):
        return target
    if isinstance(target, str) and target.endswith((".yaml", ".yml")):
        return load_manifest(target)
    obj: Any = import_target(target) if isinstance(target, str) else target
    if isinstance(obj, (str, Path)):
        return load_manifest(obj)
    if isinstance(obj, dict):
        return SuiteManifest.from_dict(obj, f"plugin suite {entry.name}")
    if isinstance(obj, SuiteManifest):
        return obj
    raise ConfigError(f"suite '{entry.name}' must point at a manifest path, dict or SuiteManifest")


def _suite_description(path: Path) -> str:
    """The manifest's description line, read without parsing the whole YAML."""
    for line in path.read_text().splitlines():
        if line.startswith("description:"):
            return line.split(":", 1)[1].strip()
    return ""


@lru_cache(maxsize=1)
def registries() -> dict[str, Registry]:
    """All registries by kind (built once per process)."""
    suites: Registry[SuiteManifest] = Registry("suite", resolve=_resolve_suite)
    models: Registry[Any] = Registry("model")
    planners: Registry[Any] = Registry("planner")
    metrics: Registry[Any] = Registry("metric")
    executors: Registry[Any] = Registry("executor")

    for folder in sorted(data_dir("manifests").iterdir()):
        manifest = latest_manifest_file(folder) if folder.is_dir() else None
        if manifest is not None:
            suites.register(folder.name, str(manifest), description=_suite_description(manifest),
                            version=manifest.stem)
    for name, (target, description, extra) in BUILTIN_MODELS.items():
        models.register(name, target, description=description, extra=extra)
    for name, (target, description) in BUILTIN_PLANNERS.items():
        planners.register(name, target, description=description)
    for name, (target, description, extra) in BUILTIN_EXECUTORS.items():
        executors.register(name, target, description=description, extra=extra)
    for name, (target, description, extra) in BUILTIN_METRICS.items():
        metrics.register(name, target, description=description, extra=extra)

    by_kind = {"suite": suites, "model": models, "planner": planners, "metric": metrics, "executor": executors}
    for kind, name, target, dist in plugin_entry_points():
        by_kind[kind].register(name, target, description=f"plugin from {dist}", source=dist)
    return by_kind


def model_config_names() -> set[str]:
    """Models that ship a config file configs/model/<name>.yaml."""
    return {p.stem for p in (data_dir("configs") / "model").glob("*.yaml")}
