"""Frozen, JSON-safe records: what an episode is (EpisodeSpec), what it gave (EpisodeRecord),
and what run it belongs to (RunInfo)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

EpisodeKey = tuple[str, str, str, int, int]  # (suite, version, task, episode_idx, seed)

# Fields that change from one run of the same episode to the next; excluded when comparing records.
TIMING_FIELDS = ("wall_time_s", "started_at", "worker")


def to_jsonable(value: Any) -> Any:
    """Plain JSON types only: numpy/torch scalars and arrays become Python numbers and lists;
    NaN becomes None and infinities become the strings 'inf' / '-inf'."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if hasattr(value, "tolist"):  # numpy arrays/scalars, torch tensors
        return to_jsonable(value.tolist())
    if hasattr(value, "item"):
        return to_jsonable(value.item())
    raise TypeError(f"cannot store a {type(value).__name__} in a JSON record: {value!r}")


def metric_value(value: Any) -> float:
    """Read a metric back from JSON: None → NaN, 'inf' → inf."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        return float(value)
    return float(value)


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode to run. Enumerated deterministically by the suite before anything runs."""

    suite: str
    version: str
    task: str
    episode_idx: int
    seed: int
    group: str = ""  # task group for reports (e.g. 'libero_spatial', 'unseen_categories')
    task_index: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)  # e.g. init-state index, goal id

    @property
    def key(self) -> EpisodeKey:
        return (self.suite, self.version, self.task, self.episode_idx, self.seed)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EpisodeSpec:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


@dataclass(frozen=True)
class EpisodeRecord:
    """What one finished (or failed) episode produced; one line of episodes.jsonl."""

    suite: str
    version: str
    task: str
    episode_idx: int
    seed: int
    group: str = ""
    task_index: int = 0
    success: bool | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    steps: int = 0
    error: str | None = None
    model: str = ""
    checkpoint_sha256: str | None = None
    planner: str | None = None
    package_version: str = ""
    simulator_versions: Mapping[str, str] = field(default_factory=dict)
    deviations: tuple[str, ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)
    wall_time_s: float = 0.0
    started_at: str = ""
    worker: str = ""

    @property
    def key(self) -> EpisodeKey:
        return (self.suite, self.version, self.task, self.episode_idx, self.seed)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EpisodeRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        missing = {"suite", "version", "task", "episode_idx", "seed"} - set(data)
        if missing:
            raise ValueError(f"record lacks {', '.join(sorted(missing))}")
        values = {k: v for k, v in data.items() if k in names}
        values["deviations"] = tuple(values.get("deviations", ()))
        return cls(**values)

    def comparable(self) -> dict[str, Any]:
        """The record without timing fields: equal for the same config and seed."""
        data = self.to_dict()
        for name in TIMING_FIELDS:
            data.pop(name, None)
        return data


@dataclass(frozen=True)
class RunInfo:
    """Facts shared by every record of a run."""

    run_id: str
    suite: str
    version: str
    model: str
    planner: str | None
    package_version: str
    deviations: tuple[str, ...] = ()
    library_versions: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(dataclasses.asdict(self))
