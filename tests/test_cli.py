"""The command line: one-line errors with exit code 2, run/validate/report/ls end to end."""

from __future__ import annotations

import pytest

from conftest import run_cli
from lawm_eval import extras
from lawm_eval.cli import main


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("lawm-eval: error: ")
    return err[0]


@pytest.mark.parametrize("args, expected", [
    (["run", "suite=nope"], "unknown suite 'nope'"),
    (["run", "suite=point_mas"], "did you mean 'point_mass'?"),
    (["run", "model=linaer"], "unknown model 'linaer'; did you mean 'linear'?"),
    (["run", "planner=cme"], "did you mean 'cem'?"),
    (["run", "suite.episodez=4"], "did you mean 'suite.episodes'?"),
    (["run", "suite.episodes=[1"], "cannot parse override"),
    (["run", "suite.episodes=abc"], "must be a int"),
    (["validate", "model=custom"], "model.target must be set"),
    (["validate", "model=custom", "model.target=no_such_pkg_xyz.mod:f"], "module 'no_such_pkg_xyz' not found"),
    (["report", "/definitely/not/here"], "no run directory at /definitely/not/here"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_user_errors_are_one_line_and_exit_2(capsys, tmp_path, args, expected):
    assert main(args + ([f"results_dir={tmp_path}"] if args[0] in ("run",) else [])) == 2
    assert expected in error_line(capsys)


def test_missing_extra_names_the_pip_command(capsys, monkeypatch):
    monkeypatch.setitem(extras.EXTRA_MODULES, "ray", ("surely_missing_ray_module",))
    from lawm_eval.extras import require_extra

    with pytest.raises(Exception) as info:
        require_extra("ray", "executor 'ray'")
    assert str(info.value) == ("executor 'ray' needs the 'ray' extra (module 'surely_missing_ray_module' not "
                               "found): pip install \"lawm-eval[ray]\"")


def test_missing_extra_of_a_suite_through_the_cli(capsys, monkeypatch, tmp_path):
    from lawm_eval.suites.base import Suite

    monkeypatch.setitem(extras.EXTRA_MODULES, "libero", ("surely_missing_libero_module",))
    monkeypatch.setattr(Suite, "check_ready", lambda self: extras.require_extra("libero", f"suite '{self.name}'"))
    assert main(["run", f"results_dir={tmp_path}"]) == 2
    assert 'needs the \'libero\' extra' in (line := error_line(capsys)) and 'pip install "lawm-eval[libero]"' in line


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(Exception, match="unknown suite"):
        main(["--debug", "run", "suite=nope"])


def test_ls_lists_every_kind(capsys):
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    for heading in ("suites:", "models:", "planners:", "metrics:", "executors:"):
        assert heading in out
    assert "point_mass v1" in out and "cem" in out and "linear" in out
    assert main(["ls", "planners"]) == 0
    out = capsys.readouterr().out
    assert "mppi" in out and "suites:" not in out


def test_validate_runs_nothing(capsys, tmp_path):
    assert main(["validate", "suite.episodes=5", f"results_dir={tmp_path}"]) == 0
    out = capsys.readouterr().out
    assert "ok: suite point_mass v1 (5 episodes)" in out and "episodes=5 (reference 16)" in out
    assert not any(tmp_path.iterdir())


def test_run_then_report_in_a_subprocess(tmp_path):
    runs = tmp_path / "results" / "runs"
    done = run_cli("run", "suite=point_mass", "model=linear", "planner=cem", "suite.episodes=3",
                   "run_id=cli", f"results_dir={runs}")
    assert done.returncode == 0, done.stderr
    assert "run cli: 3 episodes run, 0 already recorded, 0 errors" in done.stdout
    assert "| point_mass † | v1 | point_mass | linear | cem | cli | 3 | 0 | 1.000 [0.439, 1.000] |" in done.stdout
    out_dir = tmp_path / "report"
    report = run_cli("report", str(runs), "--out", str(out_dir))
    assert report.returncode == 0, report.stderr
    for name in ("leaderboard.csv", "leaderboard.md", "per_task.csv", "per_task.md", "per_task.png"):
        assert (out_dir / name).stat().st_size > 0
    bad = run_cli("run", "suite=nope")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
