"""A user's own package, met the way a user meets lawm-eval: a factory next to the working directory,
a factory that raises, factories that name their model, objects that lack one method."""

from __future__ import annotations

import csv
import sys
import textwrap
import uuid

import pytest

from lawm_eval.bundle import ModelBundle, as_bundle, resolve_factory
from lawm_eval.cli import main
from lawm_eval.errors import ConfigError, ModelError

USER_MODULE = '''
import torch

from lawm_eval.bundle import ModelBundle


class Identity:
    def encode(self, observations):
        return observations.float()

    def to_latent(self, actions, states):
        return actions


class PointMassWM:
    """The point mass's linear dynamics (dt 0.1, damping 0.1): s = (x, y, vx, vy), a = force."""

    def __init__(self):
        dt, keep = 0.1, 0.9
        self.A = torch.tensor([[1, 0, dt * keep, 0], [0, 1, 0, dt * keep], [0, 0, keep, 0], [0, 0, 0, keep]])
        self.B = torch.tensor([[dt * dt, 0], [0, dt * dt], [dt, 0], [0, dt]])

    def step(self, context, latent_actions):
        return self.rollout(context, latent_actions)

    def rollout(self, context, latent_actions):
        state, out = context[:, -1], []
        for t in range(latent_actions.shape[1]):
            state = state @ self.A.T + latent_actions[:, t] @ self.B.T
            out.append(state)
        return torch.stack(out, dim=1)


def named(model_id="wm_a"):
    return ModelBundle(model_id, encoder=Identity(), controller=Identity(), world_model=PointMassWM())


def make_wm(width=3):
    return {"encoder": Identity(), "controller": Identity(), "world_model": PointMassWM()}


def broken(width=3):
    return {"encoder": Identity()} + width  # TypeError inside the user's factory
'''


def write_package(root, name: str) -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text("")
    (root / name / "lawm.py").write_text(textwrap.dedent(USER_MODULE))


@pytest.fixture
def restore_sys_path(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))


def fresh_name() -> str:
    return f"my_pkg_{uuid.uuid4().hex[:8]}"


# -- 1. a package in the working directory is found, as `python -m` would find it ----------------------

def test_a_package_in_the_working_directory_is_imported_from_there(tmp_path, monkeypatch, restore_sys_path):
    name = fresh_name()
    write_package(tmp_path, name)
    monkeypatch.chdir(tmp_path)
    assert str(tmp_path) not in sys.path  # as for the `lawm-eval` console script
    factory = resolve_factory(f"{name}.lawm:make_wm")
    assert factory.__module__ == f"{name}.lawm"
    assert sys.path[0] == str(tmp_path)


def test_a_package_that_is_nowhere_says_how_to_install_it(tmp_path, monkeypatch, restore_sys_path):
    name = fresh_name()
    (tmp_path / "elsewhere").mkdir()
    write_package(tmp_path / "elsewhere", name)
    monkeypatch.chdir(tmp_path)  # the package is in ./elsewhere, not here
    with pytest.raises(ConfigError) as info:
        resolve_factory(f"{name}.lawm:make_wm")
    message = str(info.value)
    assert message.startswith(f"model.factory '{name}.lawm:make_wm': module '{name}' not found (")
    assert "pip install -e <package dir>" in message and "\n" not in message
    assert str(tmp_path) not in sys.path


def test_a_missing_submodule_of_a_package_in_the_working_directory_is_not_retried(tmp_path, monkeypatch,
                                                                                    restore_sys_path):
    name = fresh_name()
    write_package(tmp_path, name)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=rf"module '{name}.nope' not found$"):
        resolve_factory(f"{name}.nope:make_wm")


# -- 2. an exception inside the factory is the user's error, naming the factory ----------------------

def test_a_factory_exception_is_one_line_naming_the_factory(capsys, tmp_path, monkeypatch):
    name = fresh_name()
    write_package(tmp_path, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["validate", "suite=point_mass", "model=custom", f"model.factory={name}.lawm:broken"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"lawm-eval: error: model 'custom': its factory {name}.lawm:broken raised TypeError: "
                             "unsupported operand type(s) for +: 'dict' and 'int' (at ")
    line = USER_MODULE.splitlines().index('    return {"encoder": Identity()} + width  # TypeError inside the user\'s factory')
    assert err[0].endswith(f"{name}/lawm.py:{line + 1})")  # where it was raised


def test_a_required_factory_argument_that_is_not_set_is_named(capsys, tmp_path, monkeypatch):
    name = fresh_name()
    write_package(tmp_path, name)
    (tmp_path / name / "ckpt.py").write_text("def make_wm(checkpoint, suite=None):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["validate", "suite=point_mass", "model=custom", f"model.factory={name}.ckpt:make_wm"]) == 2
    assert capsys.readouterr().err.strip() == (f"lawm-eval: error: model 'custom': its factory {name}.ckpt:make_wm "
                                               "needs checkpoint (set +model.checkpoint=...)")


# -- 3. a custom model is labelled with the model_id its factory gives --------------------------------

def test_custom_models_are_labelled_by_their_model_id(capsys, tmp_path, monkeypatch):
    name = fresh_name()
    write_package(tmp_path, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    runs = tmp_path / "runs"
    for model_id in ("wm_a", "wm_b"):
        assert main(["run", "suite=point_mass", "model=custom", f"model.factory={name}.lawm:named",
                     f"+model.model_id={model_id}", "suite.episodes=2", "suite.max_steps=3",
                     f"run_id=run_{model_id}", f"results_dir={runs}"]) == 0
    assert main(["report", str(runs), "--out", str(tmp_path / "report")]) == 0
    capsys.readouterr()
    with open(tmp_path / "report" / "leaderboard.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted((row["run_id"], row["model"]) for row in rows) == [("run_wm_a", "wm_a"), ("run_wm_b", "wm_b")]
    from lawm_eval.runner.records import EPISODES_FILE, read_records

    records = read_records(runs / "run_wm_a" / EPISODES_FILE)[0]
    assert {r.model for r in records} == {"wm_a"} and {r.provenance["model_id"] for r in records} == {"wm_a"}


def test_a_custom_model_without_an_id_stays_custom(tmp_path, monkeypatch, compose):
    from lawm_eval.runner.run import run_evaluation

    name = fresh_name()
    write_package(tmp_path, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    outcome = run_evaluation(compose("suite=point_mass", "model=custom", f"model.factory={name}.lawm:make_wm",
                                     "suite.episodes=1", "suite.max_steps=2", "run_id=plain"))
    assert {r.model for r in outcome.results.records} == {"custom"}


# -- 4. an object with some of a part's methods: name exactly what it lacks ---------------------------

class MyWM:
    def encode(self, observations): ...
    def to_latent(self, actions, states): ...
    def step(self, context, latent_actions): ...


class P:
    def act(self, obs): ...


def test_a_world_model_without_rollout_is_named():
    bundle = as_bundle(MyWM(), "custom")
    assert bundle.parts() == ["encoder", "controller"]
    with pytest.raises(ModelError) as info:
        bundle.require(["encoder", "controller", "world_model"], "droid_planning")
    assert str(info.value) == ("model 'custom': its MyWM has step but lacks rollout "
                               "(a world_model needs step, rollout)")


def test_a_policy_without_reset_is_named():
    with pytest.raises(ModelError) as info:
        as_bundle(P(), "custom")
    assert str(info.value) == "model 'custom': its P has act but lacks reset (a policy needs act, reset)"


def test_a_near_miss_in_a_dict_of_parts_is_named():
    bundle = as_bundle({"world_model": MyWM()}, "d")
    with pytest.raises(ModelError, match=r"^model 'd': its MyWM has step but lacks rollout"):
        bundle.require(["world_model"], "s")


def test_a_near_miss_and_a_plainly_missing_part_are_both_named():
    bundle = ModelBundle("m", near_misses={"world_model": "its X has step but lacks rollout (a world_model needs "
                                                          "step, rollout)"})
    with pytest.raises(ModelError) as info:
        bundle.require(["encoder", "world_model"], "s")
    assert str(info.value) == ("model 'm': its X has step but lacks rollout (a world_model needs step, rollout); "
                               "suite 's' also needs encoder")
