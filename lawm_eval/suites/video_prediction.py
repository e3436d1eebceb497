"""Open-loop video prediction (suites/video_prediction/v2.yaml; v1.yaml still loads).

Each episode is one window of a recorded dataset: ``context_frames`` observed frames, then the
model predicts ``horizon`` frames under each condition:

- ``gt_latent``: latent actions inferred by the model's IDM from the true future (an upper bound:
  the latents see the future), as CoLA-World reports;
- ``controller``: the real recorded actions mapped to latent actions by the model's controller;
- ``copy_last``: the last observed state repeated, through the model's own encoder and decoder — the
  baseline that isolates what the dynamics add (a pixel-space copy is ``model=copy_last``);
- ``reconstruction``: the true future encoded and decoded — the decoder's ceiling.

``suite.variant`` names the published protocol whose constants the run uses (``VARIANTS``: VP²,
LAC-WM's BFA rollouts, or lawm-eval v1's); any of those constants set explicitly overrides the
variant's and is listed as a deviation. Frames reach the model at the size it declares
(``OfflineSuite.model_frames``) and the ground truth is adapted the same way, so every metric
compares at the model's resolution.

Per window: MSE, PSNR, SSIM (``suite.ssim``: ``valid`` or ``torchmetrics`` convention) and LPIPS over
the predicted frames (records). Over all windows: FID of the predicted frames against the true ones,
and FVD of clips made of ``fvd_context_frames`` ground-truth frames followed by the predicted ones
(I3D needs ≥ 10 frames; 0 ground-truth frames — predicted frames only — when the horizon is ≥ 10),
as metric states merged by the driver. Every record's contract says what each FVD clip holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError, LawmEvalError, ModelError
from lawm_eval.interfaces import Planner
from lawm_eval.metrics.distribution import FVD_MIN_FRAMES
from lawm_eval.metrics.image import SSIM_CONVENTIONS
from lawm_eval.rollouts import check_states, rollout_actions
from lawm_eval.suites.base import EpisodeOutcome
from lawm_eval.suites.offline import OfflineSuite, check_frames, choose
from lawm_eval.types import EpisodeSpec

CONDITIONS = ("gt_latent", "controller", "copy_last", "reconstruction")


@dataclass(frozen=True)
class Variant:
    """The constants of one published video-prediction protocol (sources: the manifest's
    ``sources:`` and docs/protocols/video_prediction.md)."""

    context_frames: int  # observed frames given to the model
    horizon: int  # predicted frames
    action_chunk: int  # recorded action rows per predicted frame (frames are taken that many rows apart)
    fvd_context_frames: int  # ground-truth frames at the start of every FVD clip (before the predicted ones)
    windows: int  # windows scored
    resolution: tuple[int, int] | None  # the reference's frame size (information: the model declares its own)
    reference: str  # what the constants come from


VARIANTS: dict[str, Variant] = {
    # VP² (s-tian/vp2 vp2/scripts/compute_model_fvd.py): 12-frame clips, 2 observed, 10 predicted, 64×64;
    # metrics and FVD over frames 1..11 (the second observed frame and the 10 predicted); 33 batches of 32.
    "vp2": Variant(context_frames=2, horizon=10, action_chunk=1, fvd_context_frames=1, windows=1056,
                   resolution=(64, 64), reference="VP² (s-tian/vp2 compute_model_fvd.py, configs/config.yaml)"),
    # LAC-WM's BFA imagined rollouts: 8 frames from one initial observation, 5-step action chunks,
    # 512 random windows per split, 256×256. No code is published: the FVD clip composition is lawm-eval's
    # (I3D needs ≥ 10 frames: the observation and the recorded frame before it, then the 8 predicted).
    "bfa": Variant(context_frames=1, horizon=8, action_chunk=5, fvd_context_frames=2, windows=512,
                   resolution=(256, 256), reference="LAC-WM (BFA) §6.1, §4.2-4.3, A.5"),
    # lawm-eval's v1 defaults (suites/video_prediction/v1.yaml).
    "lawm_v1": Variant(context_frames=2, horizon=8, action_chunk=1, fvd_context_frames=2, windows=512,
                       resolution=None, reference="lawm-eval video_prediction v1"),
}
VARIANT_KEYS = ("context_frames", "horizon", "action_chunk", "fvd_context_frames", "windows")


class VideoPredictionSuite(OfflineSuite):
    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        p = self.params
        unknown = set(p["conditions"]) - set(CONDITIONS)
        if unknown or not p["conditions"]:
            raise ConfigError(f"suite.conditions must be a non-empty subset of {', '.join(CONDITIONS)}")
        choose(self.ssim_convention, SSIM_CONVENTIONS, "ssim")
        self.setup = self.resolve_constants()
        s = self.setup
        if s["fvd_context_frames"] < 0 or min(s[k] for k in VARIANT_KEYS if k != "fvd_context_frames") < 1:
            raise ConfigError("suite.context_frames, horizon, action_chunk and windows must be ≥ 1 "
                              "and suite.fvd_context_frames ≥ 0")
        clip = s["fvd_context_frames"] + s["horizon"]
        if p["fvd"] and clip < FVD_MIN_FRAMES:
            raise ConfigError(f"FVD clips need ≥ {FVD_MIN_FRAMES} frames, got {s['fvd_context_frames']} ground-truth + "
                              f"{s['horizon']} predicted: raise suite.fvd_context_frames or suite.horizon "
                              "(or set suite.fvd=false)")

    # -- constants ------------------------------------------------------------------------------
    @property
    def variant(self) -> str | None:
        """The named protocol (None for v1 manifests, which set every constant themselves)."""
        return self.params.get("variant")

    @property
    def ssim_convention(self) -> str:
        return self.params.get("ssim", "valid")

    def resolve_constants(self) -> dict[str, int]:
        """context_frames, horizon, action_chunk, fvd_context_frames, windows: each the parameter
        when it is set, else the variant's."""
        name = self.variant
        variant = VARIANTS[choose(name, tuple(VARIANTS), "variant")] if name is not None else None
        setup = {}
        for key in VARIANT_KEYS:
            value = self.params[key]
            if value is None and variant is not None:
                value = getattr(variant, key)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"suite.{key} must be an integer, got {value!r}")
            setup[key] = value
        return setup

    @property
    def lead(self) -> int:
        """Ground-truth frames of a window before its first predicted frame: the context, or more when
        the FVD clips start earlier (frames the model does not see)."""
        return max(self.setup["context_frames"], self.setup["fvd_context_frames"])

    def window_length(self) -> int:
        """Raw dataset rows a window spans: frames are taken every ``action_chunk`` rows."""
        s = self.setup
        return (self.lead + s["horizon"] - 1) * s["action_chunk"] + 1

    def fvd_clip(self) -> dict[str, int]:
        """What every FVD clip holds: the generated clip is ``ground_truth_frames`` recorded frames
        (``unseen_by_model`` of them before the observed context) followed by the predicted ones; the
        real clip is the recorded frames at the same times."""
        s = self.setup
        return {"frames": s["fvd_context_frames"] + s["horizon"], "ground_truth_frames": s["fvd_context_frames"],
                "predicted_frames": s["horizon"],
                "unseen_by_model": max(0, s["fvd_context_frames"] - s["context_frames"])}

    def deviations(self) -> list[str]:
        """The standing and changed-parameter deviations, with the variant's constants as the
        reference of the keys it sets (choosing a variant is not a deviation)."""
        name = self.variant
        if name is None:  # v1: every constant is a manifest parameter of its own
            return super().deviations()
        keys = tuple(f"{k}=" for k in (*VARIANT_KEYS, "variant"))
        texts = [d for d in super().deviations() if not d.startswith(keys)]
        for key in VARIANT_KEYS:
            value, reference = self.params[key], getattr(VARIANTS[name], key)
            if value is not None and value != reference:
                texts.append(f"{key}={value!r} (variant {name}: {reference!r})")
        if self.params["fvd"] and self.fvd_clip()["ground_truth_frames"]:
            clip = self.fvd_clip()
            texts.append(f"FVD: every generated clip holds {clip['ground_truth_frames']} ground-truth frame(s) "
                         f"({clip['unseen_by_model']} not shown to the model) + {clip['predicted_frames']} predicted")
        return texts

    # -- model checks ---------------------------------------------------------------------------
    def required_assets(self) -> list[str]:
        """The manifest's assets that these parameters use: one LPIPS trunk, FID/FVD networks if enabled."""
        p = self.params
        used = {f"lpips_{p['lpips_net']}", *(["fid_inception_v3"] if p["fid"] else []),
                *(["i3d_kinetics400"] if p["fvd"] else [])}
        return [name for name in self.manifest.assets if name in used]

    def check_model(self, model: ModelBundle) -> None:
        if "gt_latent" in self.params["conditions"] and model.lam is None:
            raise ModelError(f"model '{model.model_id}' has no inverse dynamics model for the gt_latent condition: "
                             "run it with suite.conditions=[controller]")
        parts = ["encoder", "world_model", "decoder"]
        parts += ["lam"] if "gt_latent" in self.params["conditions"] else []
        parts += ["controller"] if "controller" in self.params["conditions"] else []
        model.require(parts, self.name)

    def offered_inputs(self) -> dict[str, Any]:
        """Images, ``context_frames`` of them; the controller gets ``action_chunk`` recorded rows per frame."""
        offered: dict[str, Any] = {"observation": "image", "context_frames": self.setup["context_frames"]}
        if "controller" in self.params["conditions"] and self.pending_generation() is None:
            offered["action_dim"] = int(self.episode_data(0).actions.shape[1]) * self.setup["action_chunk"]
        return offered

    def evaluation_contract(self, model: ModelBundle) -> dict[str, Any]:
        """Context frames, resolution (metrics compare at the model's, the ground truth adapted the
        same way), which conditions see ground truth, and what every FVD clip holds."""
        s, conditions = self.setup, self.params["conditions"]
        contract = super().evaluation_contract(model)
        if self.pending_generation() is None:
            contract.update(self.image_contract(model))
        sees = {
            "gt_latent": "the IDM sees the true future frames (latent actions inferred from them: an upper bound)",
            "controller": f"the recorded actions ({s['action_chunk']} row(s) per predicted frame) through the controller",
            "copy_last": "the last observed state only",
            "reconstruction": "the true future frames, encoded and decoded (the decoder's ceiling)",
        }
        contract.update(
            variant=self.variant, horizon=s["horizon"], action_chunk=s["action_chunk"],
            ground_truth_actions="controller condition" if "controller" in conditions else "none",
            future_frames=", ".join(c for c in conditions if c in ("gt_latent", "reconstruction")) or "none",
            conditions={c: sees[c] for c in conditions},
            metric_resolution="the model's delivered resolution; the ground truth adapted by the same resize",
            ssim=self.ssim_convention,
            fvd_clip=self.fvd_clip() if self.params["fvd"] else None,
        )
        if self.variant:
            contract["variant_reference"] = asdict(VARIANTS[self.variant])
        return contract

    def episodes(self) -> list[EpisodeSpec]:
        length, chunk = self.window_length(), self.setup["action_chunk"]
        if chunk > 1 and max(self.dataset().lengths()) < length:
            raise LawmEvalError(f"suite '{self.name}': no episode of the dataset has the {length} rows a window spans "
                                f"(frames {chunk} rows apart, suite.action_chunk={chunk}); on data already recorded "
                                "at one row per chunk (lawm-eval's generated 4 fps clips) set suite.action_chunk=1")
        return self.window_specs(self.setup["windows"], length)

    # -- episodes -------------------------------------------------------------------------------
    def window(self, model: ModelBundle, spec: EpisodeSpec) -> tuple[Any, torch.Tensor]:
        """The window's episode and its frames at the model's resolution, (1, lead+H, 3, h, w) uint8."""
        episode = self.episode_data(spec.params["episode"])
        start = spec.params["start"]
        clip = episode.frames[start : start + self.window_length() : self.setup["action_chunk"]]
        return episode, self.model_frames(model, clip)

    def controller_actions(self, episode: Any, spec: EpisodeSpec) -> torch.Tensor:
        """The recorded rows from the last observed frame on: (1, horizon, chunk·A)."""
        s = self.setup
        first = spec.params["start"] + (self.lead - 1) * s["action_chunk"]
        return self.action_chunks(episode.actions, first, s["horizon"], s["action_chunk"])

    @staticmethod
    def encode_window(model: ModelBundle, video: torch.Tensor, ctx: int) -> torch.Tensor:
        """(1, ctx+H, 3, h, w) → (1, ctx+H, *S): the context and the true future encoded apart, so an
        encoder that mixes frames in time never gives the context states a view of the future."""
        context = model.encoder.encode(video[:, :ctx])  # (1, ctx, *S)
        check_states(context, (1, ctx), tuple(context.shape[2:]), "encoder.encode")
        future = model.encoder.encode(video[:, ctx:])  # (1, H, *S)
        check_states(future, (1, video.shape[1] - ctx), tuple(context.shape[2:]), "encoder.encode")
        return torch.cat([context, future], dim=1)

    @torch.no_grad()
    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        """Encode the window, roll out under the controller (or IDM) condition and decode it."""
        ctx, horizon = self.setup["context_frames"], self.setup["horizon"]
        episode, frames = self.window(model, spec)
        video = frames[:, self.lead - ctx :]  # (1, ctx+H, 3, h, w)
        states = self.encode_window(model, video, ctx)  # (1,T,*S)
        if "controller" in self.params["conditions"]:
            predicted = rollout_actions(model.world_model, model.controller, states[:, :ctx],
                                        self.controller_actions(episode, spec))
        else:
            predicted = states[:, ctx:]
        check_frames(model.decoder.decode(predicted), (1, horizon, *video.shape[2:]), "decoder.decode")

    @torch.no_grad()
    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        from lawm_eval.metrics.image import lpips, mse, psnr, ssim

        p = self.params
        ctx, horizon, lead = self.setup["context_frames"], self.setup["horizon"], self.lead
        episode, window = self.window(model, spec)  # (1, lead+H, 3, h, w) uint8 at the model's size
        video = window[:, lead - ctx :]  # (1, ctx+H, 3, h, w): what the model sees
        target = window[:, lead:].float() / 255  # (1, H, 3, h, w)
        states = self.encode_window(model, video, ctx)  # (1, ctx+H, *S)
        context = states[:, :ctx]

        real_clip = window[:, lead - self.setup["fvd_context_frames"] :].float() / 255  # (1, k+H, 3, h, w)
        metrics: dict[str, float] = {}
        predictions = {}
        for condition in p["conditions"]:
            if condition == "gt_latent":
                latents = model.lam.infer(states[:, ctx - 1 :])  # (1,H,L) from the true transitions
                predicted = model.world_model.rollout(context, latents)
            elif condition == "copy_last":
                predicted = context[:, -1:].expand(-1, horizon, *context.shape[2:])
            elif condition == "reconstruction":
                predicted = states[:, ctx:]
            else:
                predicted = rollout_actions(model.world_model, model.controller, context,
                                            self.controller_actions(episode, spec))
            check_states(predicted, (1, horizon), tuple(states.shape[2:]), "world_model.rollout")
            pixels = check_frames(model.decoder.decode(predicted), tuple(target.shape), "decoder.decode")
            predictions[condition] = pixels
            if "mse" in self.manifest.metrics:  # v2 on (v1 did not report it)
                metrics[f"mse_{condition}"] = float(mse(pixels[0], target[0]).mean())
            metrics[f"psnr_{condition}"] = float(psnr(pixels[0], target[0]).mean())
            metrics[f"ssim_{condition}"] = float(ssim(pixels[0], target[0], convention=self.ssim_convention).mean())
            metrics[f"lpips_{condition}"] = float(lpips(pixels[0], target[0], p["lpips_net"]).mean())
        metric_states = self.distribution_states(target[0], real_clip, predictions)
        video_out = None
        if frames:
            rows = [target[0]] + [predictions[c][0] for c in p["conditions"]]
            video_out = (torch.cat(rows, dim=-1).permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        info = {"episode": spec.params["episode"], "start": spec.params["start"], "task": episode.task,
                "resolution": list(target.shape[-2:]), "ssim": self.ssim_convention}
        if p["fvd"]:
            info["fvd_ground_truth_frames"] = self.setup["fvd_context_frames"]
        return EpisodeOutcome(success=None, metrics=metrics, steps=horizon, info=info, frames=video_out,
                              states=metric_states)

    def distribution_states(self, target: torch.Tensor, real_clip: torch.Tensor,
                            predictions: dict[str, torch.Tensor]) -> dict[str, Any]:
        """FID and FVD states of every condition, the features of the true and all predicted frames
        (clips) extracted in one batched network call each. target (H,3,h,w), real_clip
        (1,k+H,3,h,w) with k = fvd_context_frames, predictions {condition: (1,H,3,h,w)}."""
        from lawm_eval.metrics.distribution import FID, FVD, i3d_features, inception_features

        p, conditions = self.params, list(predictions)
        states: dict[str, Any] = {}
        if p["fid"]:
            frames = torch.cat([target, *[predictions[c][0] for c in conditions]])  # ((1+C)·H,3,h,w)
            real, *fakes = np.split(inception_features(frames), 1 + len(conditions))
            for condition, fake in zip(conditions, fakes):
                fid = FID()
                fid.real.update(real)
                fid.fake.update(fake)
                fid.frames = {"real": len(real), "fake": len(fake)}
                states[f"fid_{condition}"] = fid
        if p["fvd"]:
            observed = real_clip[:, : self.setup["fvd_context_frames"]]  # the ground-truth head of every clip
            clips = torch.cat([real_clip, *[torch.cat([observed, predictions[c]], dim=1) for c in conditions]])
            real, *fakes = np.split(i3d_features(clips), 1 + len(conditions))  # (1+C, 400)
            for condition, fake in zip(conditions, fakes):
                fvd = FVD()
                fvd.real.update(real)
                fvd.fake.update(fake)
                fvd.frames = {"real": real_clip.shape[1], "fake": real_clip.shape[1]}
                states[f"fvd_{condition}"] = fvd
        return states

    @staticmethod
    def action_chunks(actions: np.ndarray, first: int, horizon: int, chunk: int) -> torch.Tensor:
        """The recorded action rows from raw row ``first`` on, ``chunk`` per predicted frame:
        (1, horizon, chunk·A)."""
        window = np.asarray(actions[first : first + horizon * chunk], dtype=np.float32)
        return torch.from_numpy(window).reshape(1, horizon, -1)
