"""The robot state in imagined LIBERO episodes. A world model predicts frames, but a policy such as
``libero_bc`` also reads the 8-D state (end-effector position, axis-angle, gripper joints); in an
imagined episode it comes from this model, shared by every world model so that they differ only in
what they show: s_{t+1} = s_t + W [a_t; 1] (one least-squares fit on the recorded LIBERO transitions;
the OSC controller's response to a delta command is close to linear over one 20 Hz step), with the
gripper joints clipped to the range they were seen in.

Saved as JSON (``baselines/libero_proprio/model.json``): 8 × 8 numbers and the clip range, no pickle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lawm_eval.errors import CheckpointError

STATE_DIM, ACTION_DIM = 8, 7


@dataclass(frozen=True)
class ProprioModel:
    weights: np.ndarray  # (A + 1, S): [a_t; 1] → s_{t+1} − s_t
    low: np.ndarray  # (S,) the smallest value seen per dimension
    high: np.ndarray  # (S,)

    def step(self, state: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """(S,) state and (n, A) actions → (n, S): the state after each action."""
        out, s = [], np.asarray(state, np.float64)
        for action in np.asarray(actions, np.float64).reshape(-1, ACTION_DIM):
            s = s + np.append(action, 1.0) @ self.weights
            s[6:] = np.clip(s[6:], self.low[6:], self.high[6:])  # the gripper joints stay in their range
            out.append(s.copy())
        return np.stack(out).astype(np.float32)

    def to_json(self) -> str:
        return json.dumps({"weights": self.weights.tolist(), "low": self.low.tolist(), "high": self.high.tolist()})

    @staticmethod
    def from_json(text: str) -> ProprioModel:
        data = json.loads(text)
        weights = np.asarray(data["weights"], np.float64)
        if weights.shape != (ACTION_DIM + 1, STATE_DIM):
            raise ValueError(f"weights of shape {weights.shape}, expected {(ACTION_DIM + 1, STATE_DIM)}")
        return ProprioModel(weights, np.asarray(data["low"], np.float64), np.asarray(data["high"], np.float64))


def fit_proprio(states: list[np.ndarray], actions: list[np.ndarray]) -> ProprioModel:
    """Least squares over every transition of the episodes: states (T+1, 8), actions (T+1, 7) whose
    last row (no successor) is ignored."""
    inputs = np.concatenate([np.hstack([a[:-1], np.ones((len(a) - 1, 1))]) for a in actions])  # (N, A+1)
    deltas = np.concatenate([np.diff(s, axis=0) for s in states])  # (N, S)
    weights, *_ = np.linalg.lstsq(inputs.astype(np.float64), deltas.astype(np.float64), rcond=None)
    every = np.concatenate(states)
    return ProprioModel(weights, every.min(0).astype(np.float64), every.max(0).astype(np.float64))


def proprio_path() -> Path:
    from lawm_eval.paths import data_dir

    return data_dir("baselines") / "libero_proprio" / "model.json"


def load_proprio(path: str | Path | None = None) -> ProprioModel:
    file = Path(path) if path else proprio_path()
    if not file.is_file():
        raise CheckpointError(f"no LIBERO proprio model at {file} (python -m lawm_eval.models.train libero_judge)")
    try:
        return ProprioModel.from_json(file.read_text())
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{file} is not a LIBERO proprio model ({exc})") from None
