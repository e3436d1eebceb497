"""A progress bar that appears only on runs longer than a couple of seconds."""

from __future__ import annotations

import sys
from typing import Any

SHOW_AFTER_S = 2.0


def progress_bar(total: int, mode: str = "auto", desc: str = "episodes") -> Any:
    """A tqdm bar on stderr: 'auto' shows it after 2 s, 'on' at once, 'off' never."""
    from tqdm.auto import tqdm

    if mode not in ("auto", "on", "off"):
        mode = "auto"
    return tqdm(
        total=total,
        desc=desc,
        unit="ep",
        file=sys.stderr,
        disable=mode == "off",
        delay=0.0 if mode == "on" else SHOW_AFTER_S,
        dynamic_ncols=True,
    )
