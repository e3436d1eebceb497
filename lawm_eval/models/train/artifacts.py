"""What a training script leaves behind: the checkpoint, its config, the loss curve (PNG + JSON)
and the golden numbers the CI regression test recomputes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lawm_eval.paths import data_dir

REPO_DOCS = Path(__file__).resolve().parents[3] / "docs" / "training"


def baseline_dir(name: str) -> Path:
    path = data_dir("baselines") / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_curve(name: str, curves: dict[str, list[dict[str, float]]], keys: tuple[str, ...] = ("loss",)) -> Path:
    """One panel per training stage; every logged key in ``keys`` (present in the stage) is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = [(stage, curve) for stage, curve in curves.items() if curve]
    fig, axes = plt.subplots(1, len(stages), figsize=(4.2 * len(stages), 3.2), squeeze=False)
    for ax, (stage, curve) in zip(axes[0], stages):
        steps = [row["step"] for row in curve]
        for key in keys:
            if key in curve[0]:
                ax.plot(steps, [row[key] for row in curve], label=key)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(f"{name}: {stage}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    REPO_DOCS.mkdir(parents=True, exist_ok=True)
    path = REPO_DOCS / f"{name}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    (baseline_dir(name) / "curve.json").write_text(json.dumps(curves, indent=1) + "\n")
    return path


def save_golden(name: str, golden: dict[str, Any]) -> Path:
    path = baseline_dir(name) / "golden.json"
    path.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n")
    return path


def load_golden(name: str) -> dict[str, Any]:
    return json.loads((data_dir("baselines") / name / "golden.json").read_text())
