"""Frozen, JSON-safe records: what an episode is (EpisodeSpec), what it gave (EpisodeRecord),
and what run it belongs to (RunInfo)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EpisodeKey = tuple[str, str, str, int, int]  # (suite, version, task, episode_idx, seed)

# Fields that change from one run of the same episode to the next; excluded when comparing records.
TIMING_FIELDS = ("wall_time_s", "started_at", "worker")
NO_PLANNER = "none"  # the planner choice of suites that run a policy (no planner)


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


SPEC_FIELDS = tuple(f.name for f in dataclasses.fields(EpisodeSpec))


@dataclass(frozen=True)
class EpisodeRecord:
    """What one finished (or failed) episode produced; one line of episodes.jsonl.

    It embeds the EpisodeSpec it ran; in JSON the spec's fields sit at the top level (so a line reads
    flat, and records written before the embedding load unchanged)."""

    spec: EpisodeSpec
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
    provenance: Mapping[str, Any] = field(default_factory=dict)  # model id, factory, checkpoint, recipe, git
    contract: Mapping[str, Any] = field(default_factory=dict)  # what the model was given (Suite.evaluation_contract)
    info: Mapping[str, Any] = field(default_factory=dict)
    wall_time_s: float = 0.0
    started_at: str = ""
    worker: str = ""

    suite = property(lambda self: self.spec.suite)
    version = property(lambda self: self.spec.version)
    task = property(lambda self: self.spec.task)
    episode_idx = property(lambda self: self.spec.episode_idx)
    seed = property(lambda self: self.spec.seed)
    group = property(lambda self: self.spec.group)
    task_index = property(lambda self: self.spec.task_index)

    @property
    def key(self) -> EpisodeKey:
        return self.spec.key

    @property
    def model_label(self) -> str:
        """The model's name in tables: an ensemble's names its members, ``ensemble[a+b]``, each with
        ``@<file stem>`` when its checkpoint is not its bundled ``<model>/model.pt`` (another training seed;
        ``@<folder>`` for a ``model.pt`` elsewhere). A record without the members (an episode whose worker
        died) keeps the plain name."""
        members = self.provenance.get("members") if self.model == "ensemble" else None
        if not members:
            return self.model
        names = []
        for member in members:
            name, checkpoint = str(member.get("model")), Path(str(member.get("checkpoint") or "model.pt"))
            if checkpoint.name == "model.pt":
                tag = "" if checkpoint.parent.name in (name, "") else checkpoint.parent.name
            else:
                tag = checkpoint.stem
            names.append(name + (f"@{tag}" if tag else ""))
        return f"ensemble[{'+'.join(names)}]"

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "spec"}
        spec = self.spec.to_dict()
        spec.pop("params")  # the episode's parameters are part of ``info``
        return to_jsonable({**spec, **data})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EpisodeRecord:
        missing = {"suite", "version", "task", "episode_idx", "seed"} - set(data)
        if missing:
            raise ValueError(f"record lacks {', '.join(sorted(missing))}")
        names = {f.name for f in dataclasses.fields(cls)} - {"spec"}
        values = {k: v for k, v in data.items() if k in names}
        values["deviations"] = tuple(values.get("deviations", ()))
        spec = EpisodeSpec.from_dict({k: v for k, v in data.items() if k in SPEC_FIELDS and k != "params"})
        return cls(spec=spec, **values)

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
    git_revision: str | None = None  # of the lawm-eval checkout, when it is one

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(dataclasses.asdict(self))


VIDEO_MODES = ("none", "first_n", "failures", "all")


@dataclass(frozen=True)
class VideoPolicy:
    """Which episodes keep a video: none, the first ``episodes`` of each task, failures, or all."""

    mode: str = "none"
    episodes: int = 2

    def captures(self, spec: EpisodeSpec) -> bool:
        """Whether the suite should render frames for this episode."""
        if self.mode == "first_n":
            return spec.episode_idx < self.episodes
        return self.mode in ("failures", "all")

    def keeps(self, success: bool | None) -> bool:
        """Whether a captured video is written, given the episode's outcome."""
        return self.mode != "failures" or not success


@dataclass(frozen=True)
class Component:
    """One chosen component of a run (suite, model, planner, executor) and its options."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.options}


@dataclass(frozen=True)
class RunConfig:
    """The resolved, typed configuration of one run; built once by ``config.compose_config``.

    ``suite.options`` holds ``version`` and the protocol parameters; ``planner`` is None when the
    suite runs without one. ``to_dict`` is what config.yaml stores."""

    suite: Component
    model: Component
    planner: Component | None
    executor: Component
    run_id: str | None = None
    results_dir: str = "results/runs"
    video: VideoPolicy = VideoPolicy()
    max_consecutive_errors: int = 5  # stop a run whose episodes keep failing the same way (0: never)
    retry_errors: bool = False  # on resume, run errored episodes again

    @property
    def suite_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.suite.options.items() if k != "version"}

    @property
    def planner_name(self) -> str | None:
        return self.planner.name if self.planner else None

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({
            "suite": self.suite.to_dict(), "model": self.model.to_dict(),
            "planner": self.planner.to_dict() if self.planner else {"name": NO_PLANNER},
            "executor": self.executor.to_dict(), "run_id": self.run_id, "results_dir": self.results_dir,
            "save_video": self.video.mode, "video_episodes": self.video.episodes,
            "max_consecutive_errors": self.max_consecutive_errors, "retry_errors": self.retry_errors,
        })

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """From the plain dict Hydra composes (or config.yaml holds)."""
        def component(node: Mapping[str, Any]) -> Component:
            node = dict(node)
            return Component(node.pop("name"), node)

        planner = data.get("planner") or {"name": NO_PLANNER}
        return cls(
            suite=component(data["suite"]), model=component(data["model"]),
            planner=None if planner["name"] == NO_PLANNER else component(planner),
            executor=component(data["executor"]), run_id=data.get("run_id"),
            results_dir=str(data.get("results_dir", "results/runs")),
            video=VideoPolicy(data.get("save_video", "none"), int(data.get("video_episodes", 2))),
            max_consecutive_errors=int(data.get("max_consecutive_errors", 5)),
            retry_errors=bool(data.get("retry_errors", False)),
        )

    def with_run_id(self, run_id: str) -> RunConfig:
        return dataclasses.replace(self, run_id=run_id)

