from __future__ import annotations

import dataclasses

import pytest

from lawm_eval.config import compose_config
from lawm_eval.errors import ConfigError, UnknownNameError
from lawm_eval.runner.build import build_suite
from lawm_eval.types import RunConfig, VideoPolicy


def test_defaults_come_from_the_manifest_and_planner_sizes():
    config = compose_config([])
    assert config.suite.name == "point_mass" and config.suite.options["version"] == "v1"
    assert config.suite_params["episodes"] == 16
    # the suite's planner sizes overlay the planner's own defaults
    assert config.planner.name == "cem"
    assert config.planner.options["num_samples"] == 64 and config.planner.options["num_elites"] == 8
    assert config.planner.options["momentum_mean"] == 0.0  # a CEM default the suite does not set
    assert config.executor.name == "serial"
    assert config.video == VideoPolicy("none", 2)


def test_overrides_apply():
    config = compose_config(["suite.episodes=3", "planner=mppi", "planner.num_samples=10", "run_id=abc",
                             "save_video=first_n", "video_episodes=1"])
    assert config.suite_params["episodes"] == 3
    assert config.planner.name == "mppi" and config.planner.options["num_samples"] == 10
    assert config.planner.options["gamma"] == 20.0  # point_mass's MPPI temperature
    assert config.run_id == "abc" and config.video == VideoPolicy("first_n", 1)


def test_the_run_config_is_frozen_and_round_trips_through_its_dict():
    config = compose_config(["suite=libero_spatial", "model=noop"])
    assert config.planner is None and config.to_dict()["planner"] == {"name": "none"}
    assert RunConfig.from_dict(config.to_dict()) == config
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.run_id = "x"


def test_a_bad_save_video_mode_is_one_config_error():
    with pytest.raises(ConfigError, match="save_video must be one of none, first_n, failures, all, got 'some'"):
        compose_config(["save_video=some"])


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
    (["model=custom"], "model.factory must be set"),
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
    config = compose_config(["model=custom", "model.factory=x.y:z", "+model.hidden=3"])
    model = config.model.to_dict()
    assert model["factory"] == "x.y:z" and model["hidden"] == 3
