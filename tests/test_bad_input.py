"""Bad input gets one line on stderr, exit 2, and nothing lost or left half-written."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from lawm_eval.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err.strip()
    return code, err


def one_line_exit_2(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("lawm-eval: error: ")
    for fragment in fragments:
        assert fragment in err, err


def test_a_results_dir_that_cannot_be_written(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, err = run_cli(capsys, "run", "suite.episodes=1", f"results_dir={blocker}/runs", "run_id=x")
    one_line_exit_2(code, err, "cannot write the run directory", "choose a writable results_dir")


def test_a_dataset_with_a_code_executing_pickle_is_refused(capsys, tmp_path):
    class Evil:
        def __reduce__(self):  # os.system, not print: Ray's tqdm replaces builtins.print in a process that ran it
            import os

            return (os.system, ("echo pwned",))

    from PIL import Image

    for name in ("traj_a", "traj_b"):
        folder = tmp_path / "recon" / name
        folder.mkdir(parents=True)
        for i in range(14):
            Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(folder / f"{i}.jpg")
        yaw = np.zeros(14)
        position = np.zeros((14, 2)) if name == "traj_a" else Evil()
        (folder / "traj_data.pkl").write_bytes(pickle.dumps({"position": position, "yaw": yaw}))
    code, err = run_cli(capsys, "run", "suite=recon_planning", "model=lam_nav", f"suite.dataset={tmp_path / 'recon'}",
                        "suite.episodes=2", f"results_dir={tmp_path / 'runs'}", "run_id=evil")
    one_line_exit_2(code, err, "traj_data.pkl", "refusing to load posix.system")
    assert not (tmp_path / "runs" / "evil").exists()


def test_an_image_world_model_on_the_state_based_point_mass(capsys, tmp_path):
    code, err = run_cli(capsys, "run", "suite=point_mass", "model=lac_wm", "suite.episodes=2",
                        f"results_dir={tmp_path}", "run_id=img")
    one_line_exit_2(code, err, "model 'lac_wm' reads image observations but suite 'point_mass' gives state "
                                "(set suite.observation=rgb)")
    assert not (tmp_path / "img").exists()


class ThreeDofController:
    """A controller for 3-D actions: point_mass gives 2-D ones."""

    def to_latent(self, actions, states):
        return actions @ torch.zeros(3, 4)


class Identity:
    def encode(self, observations):
        return observations.float()

    def step(self, context, latent):
        return context[:, -1:]

    def rollout(self, context, latent):
        return context[:, -1:].expand(-1, latent.shape[1], *context.shape[2:])


def wrong_action_dim(suite):
    from lawm_eval.bundle import ModelBundle

    identity = Identity()
    return ModelBundle("three_dof", encoder=identity, world_model=identity, controller=ThreeDofController())


def test_a_wrong_action_dimension_is_refused_before_the_first_episode(capsys, tmp_path):
    code, err = run_cli(capsys, "validate", "model=custom", "model.factory=test_bad_input:wrong_action_dim")
    one_line_exit_2(code, err, "model 'three_dof' cannot serve suite 'point_mass'", "RuntimeError")
    code, err = run_cli(capsys, "run", "model=custom", "model.factory=test_bad_input:wrong_action_dim",
                        f"results_dir={tmp_path}", "run_id=dof")
    one_line_exit_2(code, err, "cannot serve suite 'point_mass'")
    assert not (tmp_path / "dof").exists()


@pytest.mark.slow
def test_an_unreachable_ray_cluster(capsys, tmp_path):
    code, err = run_cli(capsys, "run", "suite.episodes=1", "executor=ray", "executor.address=ray://127.0.0.1:1",
                        f"results_dir={tmp_path}", "run_id=ray")
    one_line_exit_2(code, err, "cannot reach Ray at executor.address=ray://127.0.0.1:1")
    assert not (tmp_path / "ray").exists()


def test_environments_side_by_side_need_a_simulator_in_child_processes(capsys, tmp_path):
    for command in ("validate", "run"):
        code, err = run_cli(capsys, command, "executor.envs_per_worker=2", f"results_dir={tmp_path}", "run_id=side")
        one_line_exit_2(code, err, "executor.envs_per_worker=2 needs a suite whose simulator runs in child processes; "
                                   "suite 'point_mass' runs in this one")
    assert not (tmp_path / "side").exists()
    code, err = run_cli(capsys, "validate", "executor.envs_per_worker=0")
    one_line_exit_2(code, err, "executor.envs_per_worker must be ≥ 1")


@pytest.mark.parametrize("args, fragment", [
    (["--benchmark", "point_mass"], "not a LIBERO suite"),
    (["--benchmark", "libero_objekt"], "not a LIBERO suite"),
    (["--benchmark", "libero_object", "--episodes", "51"], "50 initial states"),
    (["--benchmark", "libero_object", "--tasks", "0", "--levels", "6"], "levels are 0..5"),
    (["--benchmark", "libero_object", "--first-init", "45", "--episodes", "10"], "initial states per task (0..49)"),
    (["--benchmark", "libero_object", "--post-success-steps", "-1"], "--post-success-steps must be ≥ 0"),
])
def test_libero_rollouts_refuse_a_bad_plan_before_any_simulation(capsys, tmp_path, args, fragment):
    code, err = run_cli(capsys, "data", "generate", "libero_rollouts", "--out", str(tmp_path / "out"), *args)
    one_line_exit_2(code, err, fragment)
    assert not (tmp_path / "out").exists()
