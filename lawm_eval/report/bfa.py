"""LAC-WM's own layouts for ``bfa_selection`` runs: Table 2 (method × split: δf, δf_g, S.R.C., S.R.L., S.R.
with 95 % intervals) and Fig. 4 (S.R., δf and δf_g against the number of pretraining embodiments, for
LAC-WM and EAC-WM). Rows are the leaderboard's (one per run and split)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SUITE = "bfa_selection"
COLUMNS = (("delta_f", "δf ↓"), ("delta_f_goal", "δf_g ↓"), ("sr_contact", "S.R.C. ↑"), ("sr_lift", "S.R.L. ↑"),
           ("success_rate", "S.R. ↑"))
# the paper's name of each bundled model (and baseline planner), and its pretraining embodiments (Fig. 4)
METHODS = {"vla_mean": "VLA-mean", "vla_random": "VLA-random", "eac_wm_s_bfa": "EAC-WM-S", "eac_wm_bfa": "EAC-WM",
           "lac_wm_bfa": "LAC-WM", "lac_wm_mdca_bfa": "LAC-WM-MD-CA", "lac_wm_bfa_e1": "LAC-WM (1 embodiment)",
           "lac_wm_bfa_e2": "LAC-WM (2 embodiments)", "eac_wm_bfa_e1": "EAC-WM (1 embodiment)",
           "eac_wm_bfa_e2": "EAC-WM (2 embodiments)"}
SCALING = {"LAC-WM": {1: "lac_wm_bfa_e1", 2: "lac_wm_bfa_e2", 3: "lac_wm_bfa"},
           "EAC-WM": {1: "eac_wm_bfa_e1", 2: "eac_wm_bfa_e2", 3: "eac_wm_bfa"}}
ORDER = list(METHODS.values())


def method(row: Mapping[str, Any]) -> str:
    """The paper's name: the VLA-only planners name the baselines, the model names the rest."""
    planner, model = str(row.get("planner", "")), str(row["model"])
    return METHODS.get(planner) or METHODS.get(model, model)


def _cell(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key, math.nan)
    if value is None or not math.isfinite(float(value)):
        return "—"
    low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
    interval = f" [{float(low):.3f}, {float(high):.3f}]" if low is not None and math.isfinite(float(low)) else ""
    return f"{float(value):.3f}{interval}"


def table2_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """Table 2's layout for the bfa_selection rows (any split, any method); '' when there are none."""
    ours = [r for r in rows if r.get("suite") == SUITE and not r.get("reference")]
    if not ours:
        return ""
    lines = ["| split | method | n | " + " | ".join(title for _, title in COLUMNS) + " |",
             "|---|---|---|" + "---|" * len(COLUMNS)]
    rank = {name: i for i, name in enumerate(ORDER)}
    for row in sorted(ours, key=lambda r: (str(r.get("group")), rank.get(method(r), len(rank)), method(r))):
        cells = " | ".join(_cell(row, key) for key, _ in COLUMNS)
        lines.append(f"| {row.get('group')} | {method(row)} | {row.get('n')} | {cells} |")
    return ("\n**LAC-WM Table 2 layout** (our tiny models on the BFA stand-in; 95 % intervals: Wilson for rates, "
            "t for distances):\n\n" + "\n".join(lines) + "\n")


def scaling_plot(rows: Sequence[Mapping[str, Any]], path: Path) -> Path | None:
    """Fig. 4: S.R., δf and δf_g (over all episodes of each model's runs, splits pooled by episode count)
    against 1, 2, 3 pretraining embodiments, LAC-WM and EAC-WM; None when no scaling model was run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pooled = _pooled([r for r in rows if r.get("suite") == SUITE and not r.get("reference")])
    series = {family: {k: pooled[m] for k, m in models.items() if m in pooled} for family, models in SCALING.items()}
    if not any(series.values()):
        return None
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    for ax, (key, title) in zip(axes, (("success_rate", "S.R. ↑"), ("delta_f", "δf ↓"), ("delta_f_goal", "δf_g ↓"))):
        for family, points in series.items():
            xs = sorted(points)
            if xs:
                ax.plot(xs, [points[x][key] for x in xs], marker="o", label=family)
        ax.set_xticks([1, 2, 3])
        ax.set_xlabel("pretraining embodiments")
        ax.set_title(title)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _pooled(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per model: each metric averaged over its rows weighted by their episode counts."""
    out: dict[str, dict[str, float]] = {}
    for model in {str(r["model"]) for r in rows}:
        mine = [r for r in rows if str(r["model"]) == model and str(r.get("planner")) == "vla_selection"]
        total = sum(int(r.get("n") or 0) for r in mine)
        if not total:
            continue
        out[model] = {key: sum(float(r.get(key, math.nan)) * int(r.get("n") or 0) for r in mine) / total
                      for key, _ in COLUMNS}
    return out
