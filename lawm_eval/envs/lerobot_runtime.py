"""The LeRobot side of the boundary: runs inside the ``lerobot`` environment (``lawm-eval env setup
lerobot``: LeRobot 0.4.4 with its libero extra, torch 2.10), served by ``sim_server``, for
``model=lerobot`` (``lawm_eval.models.lerobot``).

It loads a local ``PreTrainedPolicy`` directory (config.json, model.safetensors and the saved
pre/post-processor pipelines; no Hub access) and answers one action per call as ``lerobot-eval``
computes it (lerobot 0.4.4 ``scripts/lerobot_eval.py:184-189``): the observation as
``preprocess_observation`` gives it (``envs/utils.py:80-83``: uint8 HWC → float CHW in [0, 1]),
LIBERO's images rotated 180° and the 8-D state (eef position, axis-angle, gripper qpos) as
``LiberoProcessorStep`` builds them (``processor/env_processor.py:58-82``: the LIBERO suite gives
both already), then the policy's preprocessor, ``select_action`` (its own action queue) and its
postprocessor; the action goes to the environment as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# LeRobot's LIBERO feature names (lerobot 0.4.4 envs/configs.py:279-291) -> the LIBERO suite's observation keys
LIBERO_FEATURES = {"observation.images.image": "image", "observation.images.image2": "wrist_image",
                   "observation.state": "state"}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class LeRobotPolicyBackend:
    """One LeRobot policy, loaded from a local directory."""

    def __init__(self) -> None:
        self.policy: Any = None
        self.preprocessor: Any = None
        self.postprocessor: Any = None
        self.device = "cpu"

    def load(self, path: str, device: str = "auto") -> dict[str, Any]:
        """Load the policy at ``path``; its type, features and action-queue length."""
        import torch
        from lerobot.configs.policies import PreTrainedConfig
        from lerobot.policies.factory import get_policy_class, make_pre_post_processors

        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        config = PreTrainedConfig.from_pretrained(path)
        config.device = self.device
        backbone = getattr(config, "pretrained_backbone_weights", None)
        if backbone:
            raise ValueError(f"the policy's config names pretrained_backbone_weights={backbone!r}, which torchvision "
                             "would download; save it with pretrained_backbone_weights=None (the weights are in "
                             "model.safetensors)")
        self.policy = get_policy_class(config.type).from_pretrained(path, config=config)
        self.policy.eval()
        self.preprocessor, self.postprocessor = make_pre_post_processors(
            config, pretrained_path=path, preprocessor_overrides={"device_processor": {"device": self.device}})
        features = {name: list(feature.shape) for name, feature in config.input_features.items()}
        outputs = {name: list(feature.shape) for name, feature in config.output_features.items()}
        import lerobot

        return {"type": config.type, "input_features": features, "output_features": outputs,
                "n_action_steps": int(getattr(config, "n_action_steps", 1)),
                "chunk_size": int(getattr(config, "chunk_size", 1) or 1), "device": self.device,
                "lerobot": getattr(lerobot, "__version__", "unknown"), "torch": torch.__version__}

    def reset(self, seed: int) -> None:
        """A new episode: the policy's action queue emptied, torch seeded (diffusion draws noise)."""
        import torch

        torch.manual_seed(int(seed))
        self.policy.reset()

    def act(self, observation: dict[str, Any], task: str) -> np.ndarray:
        """``observation``: LeRobot feature name -> (H,W,3) uint8 image or (D,) state; → (1, A) action."""
        import torch

        batch: dict[str, Any] = {}
        for name, value in observation.items():
            array = np.ascontiguousarray(value)
            if name.startswith("observation.images."):
                batch[name] = torch.from_numpy(array).permute(2, 0, 1)[None].float() / 255.0  # (1,3,H,W)
            else:
                batch[name] = torch.from_numpy(array.astype(np.float32))[None]  # (1,D)
        batch["task"] = [task]
        with torch.inference_mode():
            action = self.policy.select_action(self.preprocessor(batch))
        return self.postprocessor(action).to("cpu").numpy().astype(np.float64)  # (1,A)

    def save_random_policy(self, path: str, kind: str = "act", seed: int = 0, image_size: int = 256) -> list[str]:
        """Save a randomly initialised LeRobot policy (``act`` or ``diffusion``) for LIBERO's features,
        with identity-like normalisation statistics (ImageNet for images), at ``path``: for tests and
        benchmarks, where no trained policy can be downloaded."""
        import os

        import torch
        from lerobot.configs.types import FeatureType, PolicyFeature
        from lerobot.policies.factory import get_policy_class, make_policy_config, make_pre_post_processors

        image = PolicyFeature(FeatureType.VISUAL, (3, image_size, image_size))
        inputs = {"observation.images.image": image, "observation.images.image2": image,
                  "observation.state": PolicyFeature(FeatureType.STATE, (8,))}
        outputs = {"action": PolicyFeature(FeatureType.ACTION, (7,))}
        options: dict[str, Any] = {"input_features": inputs, "output_features": outputs, "device": "cpu",
                                   "push_to_hub": False}
        if kind in ("act", "diffusion"):
            options["pretrained_backbone_weights"] = None
        config = make_policy_config(kind, **options)
        torch.manual_seed(seed)
        policy = get_policy_class(kind)(config)
        mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
        stats = {"observation.state": {"mean": torch.zeros(8), "std": torch.ones(8),
                                       "min": -torch.ones(8), "max": torch.ones(8)},
                 "action": {"mean": torch.zeros(7), "std": torch.full((7,), 0.1),
                            "min": -torch.ones(7), "max": torch.ones(7)},
                 **{name: {"mean": mean, "std": std, "min": torch.zeros(3, 1, 1), "max": torch.ones(3, 1, 1)}
                    for name in ("observation.images.image", "observation.images.image2")}}
        preprocessor, postprocessor = make_pre_post_processors(config, dataset_stats=stats)
        policy.save_pretrained(path)
        preprocessor.save_pretrained(path)
        postprocessor.save_pretrained(path)
        return sorted(os.listdir(path))
