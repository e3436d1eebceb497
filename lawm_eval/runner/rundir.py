"""A run directory ``<results_dir>/<run_id>/``: config.yaml, episodes.jsonl, summary.json, videos/.

Rerunning an existing run id resumes it, but only with the same experiment: the suite (with its
parameters), model and planner must equal the ones in its config.yaml. Executor settings may change
(resume a serial run on Ray, say).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import yaml

from lawm_eval.errors import ConfigError, RecordsError
from lawm_eval.types import NO_PLANNER, RunConfig, to_jsonable
from lawm_eval.util.yaml_file import read_mapping

CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "summary.json"
IDENTITY_KEYS = ("suite", "model", "planner", "save_video", "video_episodes")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def default_run_id(config: RunConfig) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{config.suite.name}-{config.model.name}-{config.planner_name or NO_PLANNER}-{stamp}"


def check_run_id(run_id: object) -> str:
    run_id = str(run_id)  # run_id=123 arrives as an int from the override parser
    if not _RUN_ID.match(run_id):
        raise ConfigError(f"run_id '{run_id}' may use letters, digits, '.', '_' and '-' only")
    return run_id


DESCRIPTIVE_MODEL_KEYS = ("description", "parts", "bundled")  # describe the model, do not define it


def _flat_diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Differences of two config trees. A key the old config does not have is no difference: it was
    added to lawm-eval after the run started (a new suite parameter, a model's ``factory``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        diffs = []
        for key in sorted(old):
            diffs += _flat_diff(old[key], new.get(key, "<unset>"), f"{prefix}{key}.")
        return diffs
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} → {new!r}"]


def experiment(config: dict[str, Any]) -> dict[str, Any]:
    """What a resumed run must keep: suite and its parameters, model, planner, video settings."""
    ident = {key: config.get(key) for key in IDENTITY_KEYS}
    if isinstance(ident["model"], dict):
        ident["model"] = {k: v for k, v in ident["model"].items() if k not in DESCRIPTIVE_MODEL_KEYS}
    return ident


class RunDirectory:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    def exists(self) -> bool:
        return self.config_path.is_file()

    def read_config(self) -> dict[str, Any]:
        return read_mapping(self.config_path, "run config", RecordsError)

    def check(self, config: dict[str, Any]) -> bool:
        """Without writing anything: raise a ConfigError if an existing run here holds another
        experiment, or if the folder could not be created; True when the run exists (a resume)."""
        config = to_jsonable(config)
        if self.exists():
            diffs = _flat_diff(experiment(self.read_config()), experiment(config))
            if diffs:
                shown = "; ".join(diffs[:3]) + (f"; and {len(diffs) - 3} more" if len(diffs) > 3 else "")
                raise ConfigError(
                    f"run '{self.path.name}' exists with a different experiment ({shown}); "
                    "use another run_id to start a new run"
                )
            return True
        existing = next(p for p in (self.path, *self.path.parents) if p.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK):
            raise ConfigError(f"cannot write the run directory {self.path} ({existing} is not a writable folder); "
                              "choose a writable results_dir=...")
        return False

    def open(self, config: dict[str, Any]) -> bool:
        """Create the directory, or check that an existing one holds the same experiment.
        Returns True when an existing run is resumed."""
        config = to_jsonable(config)
        if self.check(config):
            return True
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.write_atomic(CONFIG_FILE, yaml.safe_dump(config, sort_keys=False))
        except OSError as exc:
            raise ConfigError(f"cannot write the run directory {self.path} ({exc.strerror or exc}); "
                              "choose a writable results_dir=...") from None
        return False

    def write_summary(self, summary: dict[str, Any]) -> None:
        text = json.dumps(to_jsonable(summary), indent=2, allow_nan=False)
        self.write_atomic(SUMMARY_FILE, text + "\n")

    def write_atomic(self, name: str, text: str) -> None:
        target = self.path / name
        tmp = target.with_name(f".{name}.tmp-{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, target)
