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
    higher_is_better: bool | None = None

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
