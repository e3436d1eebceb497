"""Open-loop video prediction (suites/video_prediction/v1.yaml).

Each episode is one window of a recorded dataset: ``context_frames`` observed frames, then the
model predicts ``horizon`` frames under each condition:

- ``gt_latent``: latent actions inferred by the model's IDM from the true future (an upper bound:
  the latents see the future), as CoLA-World reports;
- ``controller``: the real recorded actions mapped to latent actions by the model's controller;
- ``copy_last``: the last observed state repeated, through the model's own encoder and decoder — the
  baseline that isolates what the dynamics add (a pixel-space copy is ``model=copy_last``);
- ``reconstruction``: the true future encoded and decoded — the decoder's ceiling.

Per window: PSNR, SSIM and LPIPS over the predicted frames (records). Over all windows: FID of the
predicted frames against the true ones, and FVD of clips made of ``fvd_context_frames`` observed
frames followed by the predicted ones (I3D needs ≥ 10 frames) — as metric states merged by the driver.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError
from lawm_eval.interfaces import Planner
from lawm_eval.planners.objectives import check_states, rollout_actions
from lawm_eval.suites.base import EpisodeOutcome
from lawm_eval.suites.offline import OfflineSuite, check_frames, frames_tensor
from lawm_eval.types import EpisodeSpec

CONDITIONS = ("gt_latent", "controller", "copy_last", "reconstruction")


class VideoPredictionSuite(OfflineSuite):
    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        p = self.params
        unknown = set(p["conditions"]) - set(CONDITIONS)
        if unknown or not p["conditions"]:
            raise ConfigError(f"suite.conditions must be a non-empty subset of {', '.join(CONDITIONS)}")
        if p["context_frames"] < 1 or p["horizon"] < 1 or p["action_chunk"] < 1 or p["windows"] < 1:
            raise ConfigError("suite.context_frames, horizon, action_chunk and windows must be ≥ 1")
        if p["fvd"] and p["fvd_context_frames"] + p["horizon"] < 10:
            raise ConfigError("FVD clips need ≥ 10 frames: raise suite.fvd_context_frames or suite.horizon "
                              "(or set suite.fvd=false)")
        if p["fvd_context_frames"] > p["context_frames"]:
            raise ConfigError("suite.fvd_context_frames cannot exceed suite.context_frames")

    def required_assets(self) -> list[str]:
        """The manifest's assets that these parameters use: one LPIPS trunk, FID/FVD networks if enabled."""
        p = self.params
        used = {f"lpips_{p['lpips_net']}", *(["fid_inception_v3"] if p["fid"] else []),
                *(["i3d_kinetics400"] if p["fvd"] else [])}
        return [name for name in self.manifest.assets if name in used]

    def check_model(self, model: ModelBundle) -> None:
        if "gt_latent" in self.params["conditions"] and model.lam is None:
            from lawm_eval.errors import ModelError

            raise ModelError(f"model '{model.model_id}' has no inverse dynamics model for the gt_latent condition: "
                             "run it with suite.conditions=[controller]")
        parts = ["encoder", "world_model", "decoder"]
        parts += ["lam"] if "gt_latent" in self.params["conditions"] else []
        parts += ["controller"] if "controller" in self.params["conditions"] else []
        model.require(parts, self.name)

    def window_length(self) -> int:
        """Raw dataset frames a window spans: frames are taken every ``action_chunk`` rows."""
        p = self.params
        return (p["context_frames"] + p["horizon"] - 1) * p["action_chunk"] + 1

    def episodes(self) -> list[EpisodeSpec]:
        return self.window_specs(self.params["windows"], self.window_length())

    @torch.no_grad()
    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        """Encode the window, roll out under the controller (or IDM) condition and decode it."""
        p = self.params
        ctx, horizon, chunk = p["context_frames"], p["horizon"], p["action_chunk"]
        episode, start = self.episode_data(spec.params["episode"]), spec.params["start"]
        video = frames_tensor(episode.frames[start : start + self.window_length() : chunk])  # (1,T,3,H,W)
        states = model.encoder.encode(video)  # (1,T,*S)
        check_states(states, (1, ctx + horizon), tuple(states.shape[2:]), "encoder.encode")
        if "controller" in p["conditions"]:
            actions = self.action_chunks(episode.actions, start + (ctx - 1) * chunk, horizon, chunk)
            predicted = rollout_actions(model.world_model, model.controller, states[:, :ctx], actions)
        else:
            predicted = states[:, ctx:]
        check_frames(model.decoder.decode(predicted), (1, horizon, *video.shape[2:]), "decoder.decode")

    @torch.no_grad()
    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        from lawm_eval.metrics.image import lpips, psnr, ssim

        p = self.params
        ctx, horizon, chunk = p["context_frames"], p["horizon"], p["action_chunk"]
        episode = self.episode_data(spec.params["episode"])
        start = spec.params["start"]
        clip = episode.frames[start : start + self.window_length() : chunk]  # (ctx+horizon,H,W,3)
        video = frames_tensor(clip)  # (1,T,3,H,W) uint8
        target = video[:, ctx:].float() / 255  # (1,H,3,h,w)
        states = model.encoder.encode(video)  # (1,T,*S)
        check_states(states, (1, ctx + horizon), tuple(states.shape[2:]), "encoder.encode")
        context = states[:, :ctx]

        real_clip = video[:, ctx - p["fvd_context_frames"]:].float() / 255
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
                actions = self.action_chunks(episode.actions, start + (ctx - 1) * chunk, horizon, chunk)
                predicted = rollout_actions(model.world_model, model.controller, context, actions)
            check_states(predicted, (1, horizon), tuple(states.shape[2:]), "world_model.rollout")
            pixels = check_frames(model.decoder.decode(predicted), tuple(target.shape), "decoder.decode")
            predictions[condition] = pixels
            metrics[f"psnr_{condition}"] = float(psnr(pixels[0], target[0]).mean())
            metrics[f"ssim_{condition}"] = float(ssim(pixels[0], target[0]).mean())
            metrics[f"lpips_{condition}"] = float(lpips(pixels[0], target[0], p["lpips_net"]).mean())
        metric_states = self.distribution_states(target[0], real_clip, predictions)
        video_out = None
        if frames:
            rows = [target[0]] + [predictions[c][0] for c in p["conditions"]]
            video_out = (torch.cat(rows, dim=-1).permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        return EpisodeOutcome(success=None, metrics=metrics, steps=horizon,
                              info={"episode": spec.params["episode"], "start": start, "task": episode.task},
                              frames=video_out, states=metric_states)

    def distribution_states(self, target: torch.Tensor, real_clip: torch.Tensor,
                            predictions: dict[str, torch.Tensor]) -> dict[str, Any]:
        """FID and FVD states of every condition, the features of the true and all predicted frames
        (clips) extracted in one batched network call each. target (H,3,h,w), real_clip
        (1,k+H,3,h,w), predictions {condition: (1,H,3,h,w)}."""
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
            observed = real_clip[:, : p["fvd_context_frames"]]
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
