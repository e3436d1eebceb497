"""Numbers the papers report (baselines/<model>/reported.csv), shown beside our rows and marked as
reported, not reproduced: they come from other data, models and machines."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from lawm_eval.paths import data_dir

COLUMNS = ["paper", "model", "suite", "metric", "value", "source"]


def load_reported(suites: Iterable[str] | None = None) -> pd.DataFrame:
    frames = [pd.read_csv(path) for path in sorted(data_dir("baselines").glob("*/reported.csv"))]
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
    lines = ["| paper | model | suite | metric | value | source |", "|---|---|---|---|---|---|"]
    for _, row in table.iterrows():
        lines.append(f"| {row['paper']} | {row['model']} | {row['suite']} | {row['metric']} | {row['value']:g} "
                     f"| {row['source']} |")
    return ("\n**Reported in the papers (not reproduced here: other data, full-size models):**\n\n"
            + "\n".join(lines) + "\n")
