"""LAC-WM's layouts for bfa_selection runs: Table 2 rows per split and method with intervals, and the
embodiment-scaling figure from the pooled splits."""

from __future__ import annotations

import pytest

from lawm_eval.report import bfa


def row(model, planner, group, n, sr, delta_f=26.0):
    return {"suite": "bfa_selection", "model": model, "planner": planner, "group": group, "n": n,
            "success_rate": sr, "success_rate_ci_low": sr / 2, "success_rate_ci_high": sr * 1.5,
            "sr_contact": 0.8, "sr_lift": 0.5, "delta_f": delta_f, "delta_f_goal": delta_f + 1}


def test_table2_layout_names_the_methods_in_the_papers_order():
    rows = [row("lac_wm_bfa", "vla_selection", "unseen_instances", 10, 0.3),
            row("vla_bfa", "vla_mean", "unseen_instances", 10, 0.2),
            row("vla_bfa", "vla_random", "unseen_categories", 10, 0.1),
            {**row("x", "-", "unseen_instances", 1, 0.0), "suite": "other"}]
    table = bfa.table2_markdown(rows).splitlines()
    body = [line for line in table if line.startswith("| unseen")]
    assert [line.split(" | ")[:2] for line in body] == [["| unseen_categories", "VLA-random"],
                                                         ["| unseen_instances", "VLA-mean"],
                                                         ["| unseen_instances", "LAC-WM"]]
    assert "0.200 [0.100, 0.300]" in body[1] and "| split | method | n | δf ↓ | δf_g ↓ | S.R.C. ↑" in table[3]
    assert bfa.table2_markdown([{**rows[0], "suite": "other"}]) == ""


def test_scaling_pools_the_splits_by_episode_count_and_draws_both_families(tmp_path):
    rows = [row("lac_wm_bfa_e1", "vla_selection", "unseen_instances", 10, 0.1, 27.0),
            row("lac_wm_bfa_e1", "vla_selection", "unseen_categories", 30, 0.3, 25.0),
            row("lac_wm_bfa", "vla_selection", "unseen_instances", 10, 0.4),
            row("eac_wm_bfa_e2", "vla_selection", "unseen_instances", 10, 0.2),
            row("vla_bfa", "vla_mean", "unseen_instances", 10, 0.9)]
    pooled = bfa._pooled(rows)
    assert pooled["lac_wm_bfa_e1"]["success_rate"] == pytest.approx((0.1 * 10 + 0.3 * 30) / 40)
    assert pooled["lac_wm_bfa_e1"]["delta_f"] == pytest.approx(25.5)
    assert "vla_bfa" not in pooled  # the baselines are not scaling points
    path = bfa.scaling_plot(rows, tmp_path / "scaling.png")
    assert path.is_file() and path.stat().st_size > 0
    assert bfa.scaling_plot(rows[-1:], tmp_path / "none.png") is None
