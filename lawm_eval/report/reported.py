"""Numbers the papers report (baselines/<model>/reported.csv), shown beside our rows and marked as
reported, not reproduced: they come from other data, models and machines.

Every row carries its ``unit``, and the metric column names a metric of that unit only: NWM reports
ATE/RPE in waypoint units of 0.25 m, so its rows are ``ate_waypoints``/``rpe_waypoints`` (and ``ate``/
``rpe`` rows in metres, converted and saying so in ``source``). A file without a ``unit`` column
takes each metric's unit from its spec (``lawm_eval/metrics/specs.py``); a row whose unit differs
from its metric's spec is an error, so one metric never mixes units.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from lawm_eval.errors import LawmEvalError
from lawm_eval.metrics.specs import spec_for
from lawm_eval.paths import data_dir

COLUMNS = ["paper", "model", "suite", "metric", "value", "unit", "source"]


def read_reported(path) -> pd.DataFrame:
    """One reported.csv with a unit on every row (checked against the metric's spec)."""
    table = pd.read_csv(path, dtype={"unit": str}, keep_default_na=False)
    if "unit" not in table.columns:
        table["unit"] = [spec_for(metric).unit for metric in table["metric"]]
    for metric, unit in zip(table["metric"], table["unit"]):
        expected = spec_for(metric).unit
        if expected and unit != expected:
            raise LawmEvalError(f"{path}: metric '{metric}' is in '{expected}' but the row says '{unit}'")
    table["value"] = table["value"].astype(float)
    return table[COLUMNS]


def load_reported(suites: Iterable[str] | None = None) -> pd.DataFrame:
    frames = [read_reported(path) for path in sorted(data_dir("baselines").glob("*/reported.csv"))]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(frames, ignore_index=True)[COLUMNS]
    if suites is not None:
        wanted = set(suites)
        table = table[[s in wanted or any(w.startswith(s) for w in wanted) for s in table["suite"]]]
    return table.reset_index(drop=True)


def to_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return ""
    lines = ["| paper | model | suite | metric | value | unit | source |", "|---|---|---|---|---|---|---|"]
    for _, row in table.iterrows():
        lines.append(f"| {row['paper']} | {row['model']} | {row['suite']} | {row['metric']} | {row['value']:g} "
                     f"| {row['unit']} | {row['source']} |")
    return ("\n**Reported in the papers (not reproduced here: other data, full-size models):**\n\n"
            + "\n".join(lines) + "\n")
