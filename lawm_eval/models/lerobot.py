"""A LeRobot policy: ``model=lerobot model.path=<local pretrained policy dir>``.

The policy runs in the ``lerobot`` environment (``lawm-eval env setup lerobot``: LeRobot 0.4.4 needs
torch < 2.11, lawm-eval pins 2.14), in a child process answering over lawm-eval's message protocol
(``envs/lerobot_runtime.py``). The directory is what ``policy.save_pretrained`` and the saved
pre/post-processors write (config.json, model.safetensors, policy_preprocessor.json,
policy_postprocessor.json and their statistics); nothing is fetched from the Hub.

On the LIBERO suites the observation reaches it as lerobot-eval gives it: LeRobot's LIBERO feature
names (``observation.images.image`` agentview, ``observation.images.image2`` wrist, both rotated
180°; ``observation.state`` eef position, axis-angle, gripper qpos), the images as rendered (256²,
the resolution lerobot-eval's LIBERO environment renders), the task's language. The policy keeps
its own action queue (``select_action``), so it is asked before every step and its action goes to
the environment unchanged (LIBERO's −1 open / +1 close gripper).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.inputs import ModelInputs
from lawm_eval.util.hashing import file_sha256

ENVIRONMENT = "lerobot"
BACKEND = "lawm_eval.envs.lerobot_runtime:LeRobotPolicyBackend"
REQUIRED_FILES = ("config.json", "model.safetensors")


def start_runtime() -> Any:
    """A child process in the lerobot environment, serving LeRobotPolicyBackend."""
    from lawm_eval.envs.environments import get_environment
    from lawm_eval.envs.sim_client import SimProcess

    return SimProcess(ENVIRONMENT, get_environment(ENVIRONMENT).require(), BACKEND)


class LeRobotPolicy:
    """The Policy protocol over a LeRobot policy in its own process; one action per call."""

    closed_loop = True  # select_action answers one action and keeps the rest of its chunk itself

    def __init__(self, path: str, device: str, features: dict[str, list[int]], process: Any = None):
        """``process``: a runtime that already loaded the policy (the factory's), used until it dies."""
        self.path, self.device, self.features = path, device, features
        self.needs_images = any(name.startswith("observation.images.") for name in features)
        self._process: Any = process

    def process(self) -> Any:
        """The live child process with the policy loaded (restarted if it died)."""
        if self._process is None or not self._process.alive:
            self._process = start_runtime()
            self._process.call("load", path=self.path, device=self.device)
        return self._process

    def fork(self) -> LeRobotPolicy:
        """A copy for another environment: LeRobot policies keep their action queue in the model, so each
        environment needs its own process (executor.envs_per_worker)."""
        return LeRobotPolicy(self.path, self.device, self.features)

    def reset(self, seed: int) -> None:
        self._call("reset", seed=int(seed))

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        from lawm_eval.envs.lerobot_runtime import LIBERO_FEATURES

        observation = {name: np.asarray(obs[LIBERO_FEATURES[name]]) for name in self.features}
        return self._call("act", observation=observation, task=str(obs["task"]))  # (1, 7)

    def _call(self, method: str, **kwargs: Any) -> Any:
        from lawm_eval.envs.sim_client import SimulatorDied

        try:
            return self.process().call(method, **kwargs)
        except SimulatorDied:  # the next call starts a new process (a crash is transient: the episode reruns)
            self._process = None
            raise

    def close(self) -> None:
        if self._process is not None and self._process.alive:
            self._process.close()
        self._process = None


def check_directory(path: str) -> Path:
    if not path:
        raise ConfigError("model 'lerobot' needs model.path=<a local LeRobot pretrained policy directory>")
    folder = Path(path).expanduser().resolve()
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if not folder.is_dir() or missing:
        raise ConfigError(f"model.path={path} is not a LeRobot pretrained policy directory (missing "
                          f"{', '.join(missing) if folder.is_dir() else 'the directory'}; a Hub id is not fetched)")
    return folder


def build_lerobot(suite: Any = None, path: str = "", device: str = "auto") -> ModelBundle:
    """``model=lerobot model.path=DIR [model.device=cpu|cuda]``: the LeRobot policy saved in DIR."""
    from lawm_eval.envs.lerobot_runtime import LIBERO_FEATURES

    folder = check_directory(path)
    runtime = start_runtime()
    try:
        meta = runtime.call("load", path=str(folder), device=device)
        features = meta["input_features"]
        unknown = sorted(set(features) - set(LIBERO_FEATURES))
        if unknown:
            raise ModelError(f"LeRobot policy at {folder} reads {', '.join(unknown)}; the LIBERO suites give "
                             f"{', '.join(LIBERO_FEATURES)}")
        action = meta["output_features"].get("action", [])
        if action != [7]:
            raise ModelError(f"LeRobot policy at {folder} outputs actions of shape {action}; LIBERO takes (7,)")
    except BaseException:
        runtime.close()
        raise
    policy = LeRobotPolicy(str(folder), device, features, process=runtime)
    return ModelBundle(
        "lerobot", policy=policy, checkpoint=str(folder / "model.safetensors"),
        checkpoint_sha256=file_sha256(folder / "model.safetensors"),
        inputs=ModelInputs(observation="image" if policy.needs_images else "state", state_dim=8, action_dim=7,
                           gripper="env"),
        info={"provenance": f"LeRobot {meta['lerobot']} {meta['type']} policy at {folder}",
              "policy_type": meta["type"], "n_action_steps": meta["n_action_steps"],
              "device": meta["device"], "runtime": {"lerobot": meta["lerobot"], "torch": meta["torch"]}})
