"""Files written whole: a reader never sees half of one."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path


def replace_atomically(path: Path, write: Callable[[Path], None], suffix: str = "") -> None:
    """Write ``path`` by ``write(temporary)`` and one rename: other processes and threads read the old
    file or the new one, never a part. The temporary name is this process's and thread's own and ends
    with ``suffix`` (``.npz``: numpy keeps names that end so)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp{suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
