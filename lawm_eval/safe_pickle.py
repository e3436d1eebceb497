"""Read pickles that should hold only plain containers and numpy arrays (weights, traj_data.pkl).

The unpickler refuses every global except numpy's array reconstruction, so a malicious file cannot
run code. Dicts, lists, tuples, strings and numbers need no globals and load as usual.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from lawm_eval.errors import DataError, first_line

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles containers of numpy arrays and refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data or weights file")
        if module.startswith("numpy.core"):
            module = module.replace("numpy.core", "numpy._core", 1)
        return super().find_class(module, name)


def load_pickle(path: str | Path) -> Any:
    """The file's containers and arrays; a DataError (one line) for a file that names any other
    global (it could run code) or that is not a whole pickle."""
    try:
        with open(path, "rb") as f:
            return NumpyOnlyUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DataError(f"cannot read {path}: {first_line(exc)}") from None


def load_numpy_pickle(path: str | Path) -> dict[str, Any]:
    data = load_pickle(path)
    if not isinstance(data, dict):
        from lawm_eval.errors import AssetError

        raise AssetError(f"{path} does not hold a dict of arrays")
    return data
