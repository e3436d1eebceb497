from __future__ import annotations

import pytest

from lawm_eval.config import compose_config
from lawm_eval.errors import ConfigError, UnknownNameError
from lawm_eval.runner.build import build_suite


def test_defaults_come_from_the_manifest_and_planner_sizes():
    config = compose_config([])
    assert config["suite"]["name"] == "point_mass" and config["suite"]["version"] == "v1"
    assert config["suite"]["episodes"] == 16
    # the suite's planner sizes overlay the planner's own defaults
    assert config["planner"]["name"] == "cem"
    assert config["planner"]["num_samples"] == 64 and config["planner"]["num_elites"] == 8
    assert config["planner"]["momentum_mean"] == 0.0  # a CEM default the suite does not set
    assert config["executor"]["name"] == "serial"


def test_overrides_apply():
    config = compose_config(["suite.episodes=3", "planner=mppi", "planner.num_samples=10", "run_id=abc"])
    assert config["suite"]["episodes"] == 3
    assert config["planner"]["name"] == "mppi" and config["planner"]["num_samples"] == 10
    assert config["planner"]["gamma"] == 20.0  # point_mass's MPPI temperature
    assert config["run_id"] == "abc"


@pytest.mark.parametrize("overrides, message", [
    (["suite=point_mas"], "unknown suite 'point_mas'; did you mean 'point_mass'?"),
    (["model=linaer"], "unknown model 'linaer'; did you mean 'linear'?"),
    (["planner=cme"], "unknown planner 'cme'; did you mean 'cem'?"),
    (["executor=seriall"], "unknown executor 'seriall'; did you mean 'serial'?"),
    (["suite.episodez=4"], "unknown key 'suite.episodez' for suite 'point_mass'; did you mean 'suite.episodes'?"),
    (["planner.num_samplez=4"], "did you mean 'planner.num_samples'?"),
    (["runid=x"], "unknown config key 'runid'; did you mean 'run_id'?"),
    (["suite.episodes=[1"], "cannot parse override 'suite.episodes=[1'"),
    (["suite.episodes=1,2"], "sweeps are not supported"),
    (["planner=none"], "plans with a world model: choose a planner"),
    (["model=custom"], "model.target must be set"),
])
def test_bad_input_is_one_clear_line(overrides, message):
    with pytest.raises(ConfigError) as info:
        compose_config(overrides)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_unknown_names_are_unknown_name_errors():
    with pytest.raises(UnknownNameError):
        compose_config(["suite=nope"])


def test_suite_parameter_types_are_checked():
    config = compose_config(["suite.episodes=abc"])
    with pytest.raises(ConfigError, match="suite.point_mass.episodes must be a int"):
        build_suite(config)


def test_plus_adds_a_key_to_open_nodes():
    config = compose_config(["model=custom", "model.target=x.y:z", "+model.params.hidden=3"])
    assert config["model"]["params"] == {"hidden": 3}
