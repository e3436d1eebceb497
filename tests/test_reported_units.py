"""Reported numbers carry their unit; NWM's and NoMaD's RECON ATE/RPE are waypoint units of 0.25 m,
never mixed with our metres in one metric."""

from __future__ import annotations

import pytest

from lawm_eval.errors import LawmEvalError
from lawm_eval.metrics.specs import spec_for
from lawm_eval.report.reported import COLUMNS, load_reported, read_reported, to_markdown


def value(table, model: str, metric: str) -> tuple[float, str]:
    (row,) = table[(table["model"] == model) & (table["metric"] == metric)].to_dict("records")
    return row["value"], row["unit"]


def test_every_reported_row_has_the_unit_of_its_metric():
    table = load_reported()
    assert list(table.columns) == COLUMNS and not table.empty
    for metric, unit in zip(table["metric"], table["unit"]):
        assert unit, f"reported {metric} has no unit"
        assert not spec_for(metric).unit or unit == spec_for(metric).unit


def test_nwm_and_nomad_are_in_waypoint_units_with_metre_conversions():
    table = load_reported(["recon_planning"])
    for model, ate_wp, rpe_wp in (("NWM (CDiT-XL)", 1.13, 0.35), ("NoMaD", 1.93, 0.52)):
        assert value(table, model, "ate_waypoints") == (ate_wp, "waypoints of 0.25 m")
        assert value(table, model, "rpe_waypoints") == (rpe_wp, "waypoints of 0.25 m")
        assert value(table, model, "ate") == (pytest.approx(ate_wp * 0.25), "m")
        assert value(table, model, "rpe") == (pytest.approx(rpe_wp * 0.25), "m")
    assert spec_for("ate").unit == "m" and spec_for("ate_waypoints").unit == "waypoints of 0.25 m"
    markdown = to_markdown(table)
    assert "| unit |" in markdown and "| 1.13 | waypoints of 0.25 m |" in markdown


def test_a_row_in_another_unit_than_its_metric_is_refused(tmp_path):
    path = tmp_path / "reported.csv"
    path.write_text("paper,model,suite,metric,value,unit,source\nNWM,NWM,recon_planning,ate,1.13,waypoints,x\n")
    with pytest.raises(LawmEvalError, match="metric 'ate' is in 'm' but the row says 'waypoints'"):
        read_reported(path)


def test_a_file_without_a_unit_column_takes_the_specs_unit(tmp_path):
    path = tmp_path / "reported.csv"
    path.write_text("paper,model,suite,metric,value,source\nP,M,recon_planning,rpe_waypoints,0.4,x\n")
    assert read_reported(path)["unit"].tolist() == ["waypoints of 0.25 m"]
