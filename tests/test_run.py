"""The driver: records, resume, error episodes, early model checks, videos."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.runner.records import EPISODES_FILE, read_records
from lawm_eval.runner.run import run_evaluation
from lawm_eval.util.machine import cpu_model_from_cpuinfo


def records_of(run_dir):
    return {r.key: r for r in read_records(run_dir / EPISODES_FILE)[0]}


def test_every_record_carries_its_provenance(compose):
    outcome = run_evaluation(compose("suite.episodes=2", "run_id=prov"))
    for rec in records_of(outcome.run_dir).values():
        assert rec.suite == "point_mass" and rec.version == "v1"
        assert rec.package_version and rec.model == "linear" and rec.planner == "cem"
        assert isinstance(rec.seed, int) and rec.wall_time_s > 0 and rec.started_at
        assert rec.error is None and rec.success is True
        assert "episodes=2 (reference 16)" in rec.deviations
        assert rec.provenance["model_id"] == "linear"
        assert rec.provenance["factory"] == "lawm_eval.models.linear:build_linear_model"
        assert rec.provenance["libraries"]["torch"] and rec.provenance["git_revision"]  # tests run in a checkout
        assert rec.provenance["machine"]["arch"] == platform.machine() and rec.provenance["machine"]["cpus"] >= 1
        assert rec.provenance["machine"]["cpu"] not in ("", "unknown")
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    assert summary["complete"] and summary["run"]["library_versions"]["torch"]


def test_the_cpu_model_is_read_from_cpuinfo_on_x86_and_arm():
    x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n"
    arm = "processor\t: 0\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"
    assert cpu_model_from_cpuinfo(x86) == "AMD EPYC 7B13"
    assert cpu_model_from_cpuinfo(arm) == "Raspberry Pi 4 Model B Rev 1.4"
    assert cpu_model_from_cpuinfo("processor\t: 0\nmodel name\t:\n") is None


def test_planner_options_changed_from_the_protocol_are_deviations(compose):
    outcome = run_evaluation(compose("suite.episodes=1", "planner.num_samples=32", "run_id=planner_dev"))
    (record,) = records_of(outcome.run_dir).values()
    assert "planner.num_samples=32 (reference 64)" in record.deviations
    assert not any(d.startswith("planner.") for d in records_of(run_evaluation(
        compose("suite.episodes=1", "run_id=planner_ref")).run_dir).popitem()[1].deviations)


def test_same_config_and_seed_give_the_same_records(compose):
    a = records_of(run_evaluation(compose("suite.episodes=3", "run_id=a")).run_dir)
    b = records_of(run_evaluation(compose("suite.episodes=3", "run_id=b")).run_dir)
    assert [r.comparable() for r in a.values()] == [r.comparable() for r in b.values()]
    c = records_of(run_evaluation(compose("suite.episodes=3", "suite.seed=50", "run_id=c")).run_dir)
    assert [r.metrics for r in a.values()] != [r.metrics for r in c.values()]


def test_rerun_skips_recorded_episodes_and_adds_missing_ones(compose):
    first = run_evaluation(compose("suite.episodes=3", "run_id=r"))
    path = first.run_dir / EPISODES_FILE
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:1]) + "\n")  # pretend the run stopped after one episode
    again = run_evaluation(compose("suite.episodes=3", "run_id=r"))
    assert again.resumed and again.already_recorded == 1 and again.report.completed == 2
    assert [r.comparable() for r in records_of(again.run_dir).values()] == \
        [r.comparable() for r in records_of(first.run_dir).values()]
    third = run_evaluation(compose("suite.episodes=3", "run_id=r"))
    assert third.report.completed == 0 and third.already_recorded == 3


def test_resume_refuses_a_different_experiment(compose):
    run_evaluation(compose("suite.episodes=2", "run_id=x"))
    with pytest.raises(ConfigError, match=r"exists with a different experiment \(planner.num_samples: 64 → 32\)"):
        run_evaluation(compose("suite.episodes=2", "run_id=x", "planner.num_samples=32"))
    # executor settings may differ
    run_evaluation(compose("suite.episodes=2", "run_id=x", "executor.progress=off"))


def test_a_model_that_cannot_serve_the_suite_is_refused_before_the_first_episode(compose, tmp_path):
    # the linear model declares state inputs (configs/model/linear.yaml); rgb observations are refused
    with pytest.raises(ModelError, match=r"model 'linear' reads state observations but suite 'point_mass' gives "
                                         r"image \(set suite.observation=state\)"):
        run_evaluation(compose("suite.episodes=2", "suite.observation=rgb", "run_id=err"))
    assert not (tmp_path / "runs" / "err").exists()
    # without the declaration, the probe call on the suite's real inputs still refuses it
    with pytest.raises(ModelError, match="model 'linear' cannot serve suite 'point_mass': .*reads state vectors"):
        run_evaluation(compose("suite.episodes=2", "suite.observation=rgb", "run_id=err", "~model.inputs"))
    assert not (tmp_path / "runs" / "err").exists()


def test_episode_exceptions_become_error_records(compose, monkeypatch):
    from lawm_eval.suites.point_mass import PointMassSuite

    original = PointMassSuite.run_episode

    def fails_on_the_second(self, spec, model, planner, *, frames=False):
        if spec.episode_idx == 1:
            raise ValueError("boom in episode 1\nsecond line")
        return original(self, spec, model, planner, frames=frames)

    monkeypatch.setattr(PointMassSuite, "run_episode", fails_on_the_second)
    outcome = run_evaluation(compose("suite.episodes=3", "run_id=err"))
    recs = list(records_of(outcome.run_dir).values())
    assert len(recs) == 3 and outcome.report.errors == 1
    (bad,) = [r for r in recs if r.error]
    assert bad.error == "ValueError: boom in episode 1" and bad.success is None and bad.episode_idx == 1
    assert "traceback" in bad.info
    assert outcome.summary["overall"]["success_rate"] == pytest.approx(2 / 3)  # an error counts as a failure
    assert outcome.summary["overall"]["errors"] == 1 and len(outcome.summary["errors"]) == 1


class NaNWorld:
    def step(self, context, latent):
        return torch.full_like(context[:, -1:], float("nan"))

    def rollout(self, context, latent):
        return torch.full((context.shape[0], latent.shape[1], context.shape[2]), float("nan"))


def nan_model(suite):
    from lawm_eval.models.linear import IdentityController, IdentityEncoder

    return ModelBundle("nan", encoder=IdentityEncoder(), controller=IdentityController(), world_model=NaNWorld())


def only_policy(suite):
    return ModelBundle("policy_only", policy=object())


def test_nan_from_a_model_is_a_clear_error_before_any_episode(compose, tmp_path):
    with pytest.raises(ModelError, match=r"model 'nan' cannot serve suite 'point_mass': "
                                         r"world_model.rollout returned 8 NaN/inf values$"):
        run_evaluation(compose("suite.episodes=1", "model=custom", "model.factory=test_run:nan_model", "run_id=nan"))
    assert not (tmp_path / "runs" / "nan").exists()


def test_a_model_without_the_needed_parts_fails_before_any_episode(compose):
    with pytest.raises(ModelError, match="suite 'point_mass' needs encoder, controller, world_model but model "
                                         "'policy_only' provides policy"):
        run_evaluation(compose("model=custom", "model.factory=test_run:only_policy", "run_id=parts"))


def test_unknown_model_parameter_is_named(compose):
    with pytest.raises(ConfigError, match=r"model 'linear' has no parameter\(s\) hidden"):
        run_evaluation(compose("+model.hidden=3", "run_id=p"))


@pytest.mark.parametrize("mode, expected", [("first_n", 1), ("all", 2), ("failures", 0)])
def test_videos_follow_save_video(compose, mode, expected):
    outcome = run_evaluation(compose("suite.episodes=2", f"save_video={mode}", "video_episodes=1", f"run_id=v{mode}"))
    videos = sorted((outcome.run_dir / "videos").glob("*")) if (outcome.run_dir / "videos").exists() else []
    assert len(videos) == expected
    with_video = [r for r in records_of(outcome.run_dir).values() if "video" in r.info]
    assert len(with_video) == expected


def failing_from(first_failing: int, message: str = "boom"):
    from lawm_eval.suites.point_mass import PointMassSuite

    original = PointMassSuite.run_episode

    def run_episode(self, spec, model, planner, *, frames=False):
        if spec.episode_idx >= first_failing:
            raise ValueError(message)
        return original(self, spec, model, planner, frames=frames)

    return run_episode


def test_a_run_whose_episodes_keep_failing_the_same_way_stops_early(compose, monkeypatch):
    from lawm_eval.suites.point_mass import PointMassSuite

    monkeypatch.setattr(PointMassSuite, "run_episode", failing_from(1))
    outcome = run_evaluation(compose("suite.episodes=8", "max_consecutive_errors=3", "run_id=stop"))
    assert outcome.stopped == "stopped after 3 episodes in a row failed with: ValueError: boom"
    summary = json.loads((tmp_runs(compose) / "stop" / "summary.json").read_text())
    assert summary["overall"]["n"] == 4 and summary["overall"]["errors"] == 3 and not summary["complete"]


def tmp_runs(compose):
    return Path(compose().results_dir)


def test_retry_errors_reruns_only_the_errored_episodes(compose, monkeypatch):
    from lawm_eval.suites.point_mass import PointMassSuite

    original = PointMassSuite.run_episode
    monkeypatch.setattr(PointMassSuite, "run_episode", failing_from(2))
    first = run_evaluation(compose("suite.episodes=3", "run_id=retry"))
    assert first.report.errors == 1
    monkeypatch.setattr(PointMassSuite, "run_episode", original)  # the user fixed the bug
    again = run_evaluation(compose("suite.episodes=3", "run_id=retry"))
    assert again.report.completed == 0  # errored episodes stay recorded unless asked
    retried = run_evaluation(compose("suite.episodes=3", "run_id=retry", "retry_errors=true"))
    assert retried.report.completed == 1 and retried.report.errors == 0
    recs = records_of(retried.run_dir)
    assert len(recs) == 3 and all(r.error is None for r in recs.values())
    assert len((retried.run_dir / EPISODES_FILE).read_text().splitlines()) == 4  # the errored line is kept
    from lawm_eval.report.runs import load_run

    assert [r.error for r in load_run(retried.run_dir).records] == [None, None, None]


def test_the_cli_exits_non_zero_when_an_episode_errored(tmp_path, monkeypatch, capsys):
    from lawm_eval.cli import main
    from lawm_eval.suites.point_mass import PointMassSuite

    monkeypatch.setattr(PointMassSuite, "run_episode", failing_from(1, "bad shape"))
    code = main(["run", "suite.episodes=2", f"results_dir={tmp_path}", "run_id=e"])
    captured = capsys.readouterr()
    assert code == 1 and "| linear † | cem | 2 | 1 |" in captured.out  # the table is still printed
    assert "1 episodes errored (first: ValueError: bad shape); after fixing, rerun with run_id=e retry_errors=true" \
        in captured.err
    code = main(["run", "suite.episodes=6", "max_consecutive_errors=2", f"results_dir={tmp_path}", "run_id=s"])
    err = capsys.readouterr().err
    assert code == 1 and "stopped after 2 episodes in a row failed with: ValueError: bad shape; 3 episodes not run" \
        in err


def test_a_run_written_before_model_configs_named_their_factory_still_resumes(compose):
    import yaml

    first = run_evaluation(compose("suite.episodes=2", "run_id=old"))
    config = yaml.safe_load((first.run_dir / "config.yaml").read_text())
    for key in ("factory", "description", "parts"):  # config.yaml as lawm-eval 0.1 wrote it
        config["model"].pop(key)
    (first.run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    again = run_evaluation(compose("suite.episodes=2", "run_id=old"))
    assert again.resumed and again.already_recorded == 2
    with pytest.raises(ConfigError, match=r"different experiment \(model.gain_error: 0.0 → 1.0\)"):
        run_evaluation(compose("suite.episodes=2", "run_id=old", "model.gain_error=1.0"))


@pytest.mark.parametrize("override, message", [
    ("run_id=a/b", "run_id 'a/b' may use letters, digits"),
    ("results_dir={blocker}/runs", "cannot write the run directory"),
])
def test_validate_refuses_what_run_would_refuse(capsys, tmp_path, override, message):
    from lawm_eval.cli import main

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main(["validate", "suite.episodes=1", override.format(blocker=blocker)]) == 2
    assert message in capsys.readouterr().err


def test_validate_refuses_resuming_a_different_experiment(compose, capsys, tmp_path):
    from lawm_eval.cli import main

    run_evaluation(compose("suite.episodes=2", "run_id=same"))
    assert main(["validate", "suite.episodes=3", "run_id=same", f"results_dir={tmp_path / 'runs'}"]) == 2
    assert "exists with a different experiment (suite.episodes: 2 → 3)" in capsys.readouterr().err
