"""EpisodeWorker: owns one suite (simulator), one model and one planner; turns specs into records.

The serial executor uses one worker in-process, with the parts the driver already built; the Ray
executor puts one in each actor, which builds its own from the run configuration.
"""

from __future__ import annotations

import dataclasses
import socket
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from lawm_eval.bundle import ModelBundle
from lawm_eval.catalog import registries
from lawm_eval.errors import LawmEvalError, ModelError, TransientError, one_line
from lawm_eval.runner.batching import PolicyServer, SharedPolicy, policy_traits
from lawm_eval.runner.build import build_model, build_planner, build_suite
from lawm_eval.suites.base import EpisodeOutcome, Suite
from lawm_eval.types import EpisodeRecord, EpisodeSpec, RunConfig, RunInfo
from lawm_eval.util.machine import machine_description
from lawm_eval.util.seeding import seed_everything

TRANSIENT_RETRIES = 2  # an episode that fails with a TransientError runs again, from its start, up to this often


@dataclass
class RunParts:
    """A built suite, model and planner (live objects: they never travel between processes)."""

    suite: Suite
    model: ModelBundle
    planner: Any
    factory: str = ""  # the model factory's import path
    simulator_versions: dict[str, str] = field(default_factory=dict)
    contract: dict[str, Any] = field(default_factory=dict)  # what the model is given, the same every episode

    @classmethod
    def build(cls, config: RunConfig, suite: Suite | None = None, checked: bool = False,
              server: Any = None, model: ModelBundle | None = None) -> RunParts:
        """Build the parts (``checked``: the suite's extras and assets were checked already);
        errors here are the user's to fix and would fail every episode alike. With ``server`` (a
        model server's handle, which ``describe``s its model) the model is not built here: its policy
        is a session of that server. With ``model`` (built before the suite's data existed) it is
        checked again against the suite, now that its data can say what the inputs are."""
        suite = suite or build_suite(config)
        if not checked:
            suite.check_ready()
        if server is None and model is None:
            model = build_model(config, suite)
        else:
            model = model or served_bundle(server.describe(), server)
            suite.check_model(model)
            suite.check_inputs(model)
        planner = build_planner(config, suite)
        suite.check_planner(planner, model)
        return cls(suite, model, planner, model_factory(config), suite.simulator_versions(),
                   suite.evaluation_contract(model))

    def sharing(self, suite: Suite, server: PolicyServer) -> RunParts:
        """These parts for another environment: its own ``suite``, the policy a session of ``server``."""
        model = dataclasses.replace(self.model, policy=SharedPolicy(server, policy_traits(self.model.policy)))
        return RunParts(suite, model, self.planner, self.factory, dict(self.simulator_versions), dict(self.contract))

    def provenance(self, run_info: RunInfo) -> dict[str, Any]:
        """Where the model came from and which code evaluated it: every record carries this."""
        model = self.model
        info = dict(model.info)
        return {
            "model_id": model.model_id, "factory": self.factory, "checkpoint": model.checkpoint,
            "checkpoint_sha256": model.checkpoint_sha256, "origin": info.pop("provenance", None), **info,
            "git_revision": run_info.git_revision, "libraries": dict(run_info.library_versions),
            "machine": dict(machine_description()),  # where this episode ran (a Ray worker may be another machine)
        }


def model_description(model: ModelBundle) -> dict[str, Any]:
    """What a worker needs to know of a model served elsewhere (plain values: it travels to Ray workers)."""
    return {"model_id": model.model_id, "checkpoint": model.checkpoint, "checkpoint_sha256": model.checkpoint_sha256,
            "info": dict(model.info), "inputs": model.inputs, "traits": policy_traits(model.policy)}


def served_bundle(description: dict[str, Any], server: PolicyServer) -> ModelBundle:
    """The ModelBundle of a model served by ``server``: its policy is a session, the rest is its description."""
    return ModelBundle(description["model_id"], policy=SharedPolicy(server, description["traits"]),
                       checkpoint=description["checkpoint"], checkpoint_sha256=description["checkpoint_sha256"],
                       info=dict(description["info"]), inputs=description["inputs"])


def model_factory(config: RunConfig) -> str:
    """The import path of the factory that builds the run's model."""
    factory = config.model.options.get("factory")
    if isinstance(factory, str):
        return factory
    target = registries()["model"].entry(config.model.name).target
    return target if isinstance(target, str) else f"{type(target).__module__}:{getattr(target, '__qualname__', '?')}"


@dataclass(frozen=True)
class RunJob:
    """Everything a worker needs, picklable: the resolved config, the run's shared facts, and the
    run directory (for executors that keep their own files there). ``parts`` are the driver's
    already built parts, used by an in-process worker and dropped when the job is pickled."""

    config: RunConfig
    run_info: RunInfo
    run_dir: str = ""
    probe_spec: EpisodeSpec | None = None  # the episode whose inputs a newly built model is probed with
    parts: RunParts | None = field(default=None, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "parts": None}


@dataclass
class EpisodeResult:
    record: EpisodeRecord
    frames: np.ndarray | None = None  # (T,H,W,3) uint8 when the run keeps this episode's video
    states: dict[str, Any] = field(default_factory=dict)  # partial Metric states, merged by the driver
    artifacts: dict[str, bytes] = field(default_factory=dict)  # files the driver writes beside the records


def make_record(spec: EpisodeSpec, run_info: RunInfo, *, outcome: EpisodeOutcome | None = None,
                error: str | None = None, parts: RunParts | None = None, extra_info: dict[str, Any] | None = None,
                wall_time_s: float = 0.0, started_at: str = "", worker: str = "") -> EpisodeRecord:
    """The one place an EpisodeRecord is assembled, for finished, failed and lost episodes."""
    model = parts.model if parts is not None else None
    return EpisodeRecord(
        spec=spec,
        success=None if outcome is None else outcome.success,
        metrics={} if outcome is None else dict(outcome.metrics),
        steps=0 if outcome is None else outcome.steps,
        error=error,
        # a custom model (model=custom, model.factory=...) is named by the model_id its factory gave
        model=model.model_id if model is not None and run_info.model == "custom" else run_info.model,
        checkpoint_sha256=model.checkpoint_sha256 if model is not None else None,
        planner=run_info.planner,
        package_version=run_info.package_version,
        simulator_versions=dict(parts.simulator_versions) if parts is not None else {},
        deviations=run_info.deviations,
        provenance=parts.provenance(run_info) if parts is not None else {},
        contract=dict(parts.contract) if parts is not None else {},
        info={**dict(spec.params), **({} if outcome is None else outcome.info), **(extra_info or {})},
        wall_time_s=round(wall_time_s, 4),
        started_at=started_at,
        worker=worker,
    )


def probe(parts: RunParts, spec: EpisodeSpec) -> None:
    """One call of the model's parts on the suite's inputs for ``spec``; any failure is a one-line
    ModelError naming model and suite, raised before the first episode."""
    try:
        parts.suite.probe_model(parts.model, spec)
    except Exception as exc:  # noqa: BLE001 - whatever the model raises, it cannot serve this suite
        raise ModelError(f"model '{parts.model.model_id}' cannot serve suite '{parts.suite.name}': "
                         f"{one_line(exc)}") from exc


class EpisodeWorker:
    def __init__(self, job: RunJob, name: str = "", parts: RunParts | None = None, server: Any = None):
        """``parts``: this worker's own, built by the executor; ``server``: the handle of a model server
        whose policy this worker uses instead of building the model."""
        self.job = job
        self.name = name or f"{socket.gethostname()}:serial"
        self.parts: RunParts | None = parts or job.parts
        self.owns_parts = self.parts is None or parts is not None  # the driver closes the parts it handed over
        self.server = server

    def setup(self) -> None:
        """Build suite, model and planner once (and probe the model), unless the driver handed them over."""
        if self.parts is None:
            self.parts = RunParts.build(self.job.config, server=self.server)
            if self.job.probe_spec is not None:
                probe(self.parts, self.job.probe_spec)

    def run(self, spec: EpisodeSpec) -> EpisodeResult:
        """Run one episode; any exception inside the episode becomes a record with ``error``."""
        self.setup()
        parts = self.parts
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        start = time.perf_counter()
        outcome, error, details, transient = None, None, {}, []
        while True:
            try:
                seed_everything(spec.seed)
                outcome = parts.suite.run_episode(spec, parts.model, parts.planner,
                                                  frames=self.job.config.video.captures(spec))
            except KeyboardInterrupt:
                raise
            except TransientError as exc:  # e.g. a policy server that went away: run the episode again
                transient.append(one_line(exc))
                if len(transient) <= TRANSIENT_RETRIES:
                    continue
                error = one_line(exc)
                details = {"traceback": traceback.format_exc(limit=8)}
            except Exception as exc:  # noqa: BLE001 - an episode's failure is recorded, the run goes on
                error = one_line(exc)
                details = {"traceback": traceback.format_exc(limit=8)}
            break
        if isinstance(parts.model.policy, SharedPolicy):  # the shared server no longer waits for this episode
            try:
                parts.model.policy.finish()
            except LawmEvalError:  # a server that died now: the next episode's reset finds the new one
                pass
        if transient:
            details["transient_errors"] = transient
        record = make_record(spec, self.job.run_info, outcome=outcome, error=error, parts=parts, extra_info=details,
                             wall_time_s=time.perf_counter() - start, started_at=started_at, worker=self.name)
        if outcome is None:
            return EpisodeResult(record)
        return EpisodeResult(record, outcome.frames, dict(outcome.states), dict(outcome.artifacts))

    def close(self) -> None:
        if self.parts is not None and self.owns_parts:
            self.parts.suite.close()
