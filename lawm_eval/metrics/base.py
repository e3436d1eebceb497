"""The Metric base: ``reset / update / compute / merge`` over a fixed-size state.

``merge`` combines two partial states (from two Ray workers, say) so that merging shards equals
computing on all the data at once. States are plain dicts of numbers or arrays so they can be
saved, sent between processes and compared.
"""

from __future__ import annotations

import copy
from typing import Any


class Metric:
    name: str = "metric"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def compute(self) -> Any:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def merge(self, other: Metric) -> Metric:
        """Add ``other``'s state into this one (in place) and return self."""
        raise NotImplementedError

    def clone(self) -> Metric:
        return copy.deepcopy(self)

    def init_kwargs(self) -> dict[str, Any]:
        """Constructor arguments needed to rebuild this metric from a saved state."""
        return {}


def _flatten(state: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}/"))
        elif value is not None:
            flat[f"{prefix}{key}"] = value
    return flat


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        node = tree
        *parents, leaf = key.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value.item() if getattr(value, "ndim", None) == 0 else value
    return tree


def save_states(path: str, states: dict[str, Metric]) -> None:
    """Write metric states to one .npz: '<name>/__metric__' (the class as 'module:Class'),
    '<name>/__init__' (JSON) and the flattened state arrays. ``load_states`` rebuilds the Metric objects."""
    import json

    import numpy as np

    arrays: dict[str, Any] = {}
    for name, metric in states.items():
        arrays[f"{name}/__metric__"] = np.array(class_path(type(metric)))
        arrays[f"{name}/__init__"] = np.array(json.dumps(metric.init_kwargs()))
        for key, value in _flatten(metric.state_dict()).items():
            arrays[f"{name}/{key}"] = np.asarray(value)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# States written before the class path was stored name the metric instead.
_LEGACY_NAMES = {
    "fid": "lawm_eval.metrics.distribution:FID", "fvd": "lawm_eval.metrics.distribution:FVD",
    "psnr": "lawm_eval.metrics.image:PSNR", "ssim": "lawm_eval.metrics.image:SSIM",
    "lpips": "lawm_eval.metrics.image:LPIPS", "ate": "lawm_eval.metrics.trajectory:ATE",
    "rpe": "lawm_eval.metrics.trajectory:RPE", "delta_xyz": "lawm_eval.metrics.trajectory:DeltaXYZ",
    "cca": "lawm_eval.metrics.latent:CCA", "codebook": "lawm_eval.metrics.latent:Codebook",
    "mean": "lawm_eval.metrics.stats:Mean", "success_rate": "lawm_eval.metrics.success:SuccessRate",
    "embedding_distance": "lawm_eval.metrics.trajectory:EmbeddingDistance",
}


def trusted_packages() -> set[str]:
    """lawm_eval and the top-level packages of installed plugins (``lawm_eval.plugins`` entry points)."""
    from lawm_eval.registry import plugin_entry_points

    return {"lawm_eval"} | {target.split(":")[0].split(".")[0] for _, _, target, _ in plugin_entry_points()}


def metric_class(path: str) -> type[Metric]:
    """The Metric class a states file names. Only modules of lawm_eval and of installed plugins (or
    modules this process already imported) are imported, and only a Metric subclass is accepted: a
    states file cannot make us import or call anything else."""
    import importlib
    import sys

    from lawm_eval.errors import RecordsError

    path = _LEGACY_NAMES.get(path, path)
    module_name, _, qualname = path.partition(":")
    if not qualname or not (module_name.split(".")[0] in trusted_packages() or module_name in sys.modules):
        raise RecordsError(f"metric states name '{path}', which is not a metric class lawm-eval may load")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not (isinstance(obj, type) and issubclass(obj, Metric)):
        raise RecordsError(f"metric states name '{path}', which is not a Metric class")
    return obj


def load_states(path: str) -> dict[str, Metric]:
    import json

    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        flat = {key: data[key] for key in data.files}
    by_name: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        name, _, rest = key.partition("/")
        by_name.setdefault(name, {})[rest] = value
    states = {}
    for name, entries in by_name.items():
        metric_cls = metric_class(str(entries.pop("__metric__")))
        metric = metric_cls(**json.loads(str(entries.pop("__init__"))))
        metric.load_state_dict(_unflatten(entries))
        states[name] = metric
    return states
