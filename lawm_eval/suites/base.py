"""The Suite base class: protocol logic built from a manifest and the resolved parameters.

A Suite object is cheap and picklable: it enumerates episodes without touching a simulator. The
simulator is created lazily inside ``run_episode`` (so a Ray actor builds its own) and is not
pickled.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.extras import require_extra
from lawm_eval.interfaces import Planner
from lawm_eval.suites.manifest import SuiteManifest, check_params
from lawm_eval.types import EpisodeSpec


@dataclass
class EpisodeOutcome:
    """What ``Suite.run_episode`` returns; the worker turns it into an EpisodeRecord."""

    success: bool | None
    metrics: dict[str, float] = field(default_factory=dict)
    steps: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    frames: Any = None  # optional (T,H,W,3) uint8 video of the episode
    states: dict[str, Any] = field(default_factory=dict)  # partial Metric states (FID/FVD features ...)
    artifacts: dict[str, bytes] = field(default_factory=dict)  # files for the run folder, e.g. {"pca.png": ...}


class Suite:
    """Base class for protocol implementations. Subclasses implement ``episodes`` and
    ``run_episode``; they may override ``check_ready`` (assets) and ``close``."""

    domain: str | None = None  # the visual domain of the frames (robodesk, franka, ...): adapted models follow it

    def __init__(self, manifest: SuiteManifest, params: Mapping[str, Any] | None = None):
        params = dict(params or {})
        unknown = set(params) - set(manifest.params)
        if unknown:
            raise ConfigError(f"suite '{manifest.name}' has no parameter(s) {', '.join(sorted(unknown))}")
        check_params(manifest.params, params, f"suite.{manifest.name}")
        self.manifest = manifest
        self.params: dict[str, Any] = {**manifest.params, **params}

    # -- identity ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    def deviations(self) -> list[str]:
        """The manifest's standing deviations plus every parameter changed from its reference."""
        changed = []
        for key, ref in self.manifest.params.items():
            value = self.params[key]
            if value == ref or key in self.execution_params:
                continue
            if isinstance(value, Mapping) and isinstance(ref, Mapping):  # a table: only its changed entries
                changed += [f"{key}.{k}={value.get(k)!r} (reference {ref.get(k)!r})"
                            for k in sorted(set(value) | set(ref), key=str) if value.get(k) != ref.get(k)]
            else:
                changed.append(f"{key}={value!r} (reference {ref!r})")
        return self.manifest.deviations_for(self.params) + changed

    def simulator_versions(self) -> dict[str, str]:
        """The versions of the simulators the manifest lists, and a fingerprint of each dataset read."""
        versions = {}
        for dist in self.manifest.simulators:
            try:
                versions[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                versions[dist] = "not installed"
        return {**versions, **self.data_fingerprints()}

    def datasets(self) -> list[str]:
        """The datasets (recipe names or paths) a run reads; none for a simulator suite."""
        return []

    def data_fingerprints(self) -> dict[str, str]:
        """``data:<dataset>`` → ``folder_fingerprint`` of each dataset read, so that two runs can tell whether
        they read the same episodes (a recipe regenerated elsewhere can differ in its last digits); "not
        generated yet" for a recipe still to be generated (``lawm-eval validate`` writes nothing)."""
        from lawm_eval.data.recipes import dataset_location, is_generated
        from lawm_eval.util.hashing import folder_fingerprint

        return {f"data:{spec}": folder_fingerprint(dataset_location(spec)) if is_generated(spec) else "not generated yet"
                for spec in dict.fromkeys(self.datasets())}

    # -- lifecycle --------------------------------------------------------------------------
    def check_ready(self) -> None:
        """Raise a one-line error if an extra or asset this suite needs is missing."""
        for extra in self.manifest.extras:
            require_extra(extra, f"suite '{self.name}'")
        from lawm_eval import assets

        for name in self.required_assets():
            assets.require(name)

    def required_assets(self) -> list[str]:
        """The assets (``lawm-eval assets fetch``) this run needs: the manifest's ``assets:``, or the
        part of them that the parameters use (never one the manifest does not list)."""
        return list(self.manifest.assets)

    def pending_generation(self) -> str | None:
        """What enumerating the episodes would first generate (a dataset, say), or None. ``validate``
        asks, so that it writes nothing."""
        return None

    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        """Call the model's parts once on the inputs episode ``spec`` would give them, so that wrong
        shapes, dtypes or action sizes fail before the first episode. Suites without a cheap probe
        (simulated policies) check nothing here."""

    def check_model(self, model: ModelBundle) -> None:
        model.require(self.manifest.requires, self.name)

    def check_planner(self, planner: Any, model: ModelBundle) -> None:
        """Raise a one-line error if ``planner`` (None: no ``planner=``) cannot run this suite with
        ``model``, before the first episode. Suites that take any planner or none check nothing."""

    # parameters that say where or how the protocol runs, never what it is: changing one is no deviation
    execution_params: frozenset[str] = frozenset()

    # the ``suite.observation`` value that gives each observation kind, where the suite has that key
    observation_settings: Mapping[str, str] = {"image": "image", "state": "state"}

    def offered_inputs(self) -> dict[str, Any]:
        """What this suite gives a model, as far as it is fixed by the parameters: ``observation``
        (image | state), ``context_frames``, ``action_dim``, ``state_dim`` (absent: not fixed)."""
        return {}

    def check_inputs(self, model: ModelBundle) -> None:
        """Refuse, before the first episode, a model whose declared inputs (``model.inputs``) this
        suite cannot give: another observation kind, fewer context frames, another action or state size."""
        declared, offered = model.inputs, self.offered_inputs()
        who = f"model '{model.model_id}'"
        given = offered.get("observation")
        if declared.observation and given and declared.observation != given:
            setting = self.observation_settings.get(declared.observation)
            hint = f" (set suite.observation={setting})" if setting and "observation" in self.params else ""
            raise ModelError(f"{who} reads {declared.observation} observations but suite '{self.name}' gives "
                             f"{given}{hint}")
        context = offered.get("context_frames")
        if declared.max_context_frames and context and context > declared.max_context_frames:
            raise ModelError(f"{who} accepts at most {declared.max_context_frames} context frame(s) but suite "
                             f"'{self.name}' gives {context}")
        for key, what in (("action_dim", "actions"), ("state_dim", "states")):
            want, have = getattr(declared, key), offered.get(key)
            if key == "state_dim" and given != "state":
                continue
            if want and have and want != have:
                raise ModelError(f"{who} takes {want}-D {what} but suite '{self.name}' gives {have}-D {what}")

    def evaluation_contract(self, model: ModelBundle) -> dict[str, Any]:
        """What the model is given in every episode of this run (recorded as ``EpisodeRecord.contract``):
        observation kind, context frames, resolution, camera, whether ground-truth actions or privileged
        state reach it, where the goal comes from. Suites add their own entries."""
        return {"declared_inputs": model.inputs.to_dict(), **self.offered_inputs()}

    def episodes(self) -> list[EpisodeSpec]:
        raise NotImplementedError

    def run_episode(
        self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *, frames: bool = False
    ) -> EpisodeOutcome:
        """Run one episode; with ``frames`` also return its video as (T,H,W,3) uint8."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the simulator (called once per worker at the end)."""

    def simulator_in_child_process(self) -> bool:
        """True when this suite's simulator runs in a child process of its own, so that several
        episodes can run side by side in one process (``executor.envs_per_worker``)."""
        return False

    def batched_service(self) -> Any | None:
        """A stateless policy-like object (``act``, ``act_batch``) that K side-by-side episodes of this
        suite can share through one batcher, besides the policy (the imagined suites' world model), or
        None. The executor hands each environment's suite a session of it (``use_service``)."""
        return None

    def use_service(self, session: Any, service: Any) -> None:
        """Answer ``batched_service`` requests through ``session`` (reset / act / finish) of a batcher
        over ``service`` (the first environment's ``batched_service``, whose models this suite may share)."""
        raise NotImplementedError(f"suite '{self.name}' has no batched service")

    def finish_service(self) -> None:
        """This environment has no episode left: the service's batcher stops waiting for it."""

    def spec(self, task: str, episode_idx: int, seed: int, **kwargs: Any) -> EpisodeSpec:
        """An EpisodeSpec of this suite."""
        return EpisodeSpec(self.name, self.version, task, episode_idx, seed, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        # Simulators and other live handles (attributes starting with '_live') never travel.
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_live")}
