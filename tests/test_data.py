"""Dataset formats: LeRobot (parquet + mp4), NWM's RECON layout, LIBERO hdf5 — round trips, the
committed fixtures (written by our generators), and bad input."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from lawm_eval.data.episode import Episode
from lawm_eval.data.formats import detect_format, open_dataset
from lawm_eval.data.lerobot import LeRobotDataset, write_lerobot
from lawm_eval.data.libero_hdf5 import LiberoDemos, write_libero_demos
from lawm_eval.data.recon import ReconDataset, relative_actions, write_trajectory
from lawm_eval.errors import DataError, LawmEvalError

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def smooth_frames(t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:64, 0:64] / 64
    frames = [np.stack([np.sin(6 * x + 0.3 * i + c + rng.uniform()) for c in range(3)], -1) for i in range(t)]
    return ((np.stack(frames) + 1) * 127.5).astype(np.uint8)


def test_lerobot_round_trip(tmp_path):
    episodes = [Episode(smooth_frames(6, s), np.random.default_rng(s).normal(size=(6, 7)).astype(np.float32),
                        np.random.default_rng(s + 9).normal(size=(6, 7)).astype(np.float32), task=f"task {s % 2}",
                        fps=4) for s in range(3)]
    write_lerobot(tmp_path, episodes, fps=4, image_key="front")
    info = json.loads((tmp_path / "meta" / "info.json").read_text())
    assert info["total_episodes"] == 3 and info["total_frames"] == 18 and info["fps"] == 4
    assert info["features"]["observation.images.front"]["dtype"] == "video"
    dataset = LeRobotDataset(tmp_path)
    assert len(dataset) == 3
    for original, loaded in zip(episodes, dataset):
        assert np.array_equal(original.actions, loaded.actions) and np.array_equal(original.states, loaded.states)
        assert loaded.task == original.task and loaded.fps == 4
        assert np.abs(original.frames.astype(int) - loaded.frames.astype(int)).mean() < 2.0  # crf-10 h264


def test_lerobot_image_features_stored_as_png_bytes(tmp_path):
    """LeRobot's *_image datasets keep frames as PNG bytes in the parquet."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    frames = smooth_frames(3)
    cells = []
    for frame in frames:
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="PNG")
        cells.append({"bytes": buffer.getvalue(), "path": None})
    (tmp_path / "meta").mkdir()
    (tmp_path / "data" / "chunk-000").mkdir(parents=True)
    pq.write_table(pa.table({"observation.images.image": cells, "action": [[0.0] * 7] * 3,
                             "task_index": [0, 0, 0]}), tmp_path / "data/chunk-000/episode_000000.parquet")
    info = {"fps": 10, "total_episodes": 1, "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
            "features": {"observation.images.image": {"dtype": "image", "shape": [64, 64, 3]}}}
    (tmp_path / "meta" / "info.json").write_text(json.dumps(info))
    assert np.array_equal(LeRobotDataset(tmp_path).episode(0).frames, frames)  # PNG is lossless


def test_relative_actions_are_local_frame_moves():
    position = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    yaw = np.array([np.pi / 2, 0.0, 0.0])
    actions = relative_actions(position, yaw)
    # facing +y, moving +y is 1 m forward; then facing +x, moving +x is 1 m forward
    assert np.allclose(actions[0], [1.0, 0.0, -np.pi / 2], atol=1e-6)
    assert np.allclose(actions[1], [1.0, 0.0, 0.0], atol=1e-6)
    assert np.allclose(actions[2], 0.0)


def test_recon_round_trip_and_restricted_pickle(tmp_path):
    frames = smooth_frames(5)
    position = np.cumsum(np.random.default_rng(0).normal(size=(5, 2)), axis=0)
    yaw = np.linspace(0, 1, 5)
    write_trajectory(tmp_path / "traj_a", frames, position, yaw)
    episode = ReconDataset(tmp_path).episode(0)
    assert np.allclose(episode.states[:, :2], position, atol=1e-6) and np.allclose(episode.states[:, 2], yaw, atol=1e-6)
    assert np.abs(episode.frames.astype(int) - frames.astype(int)).mean() < 3.0  # jpg quality 95

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "traj_b").mkdir()
    (tmp_path / "traj_b" / "traj_data.pkl").write_bytes(pickle.dumps({"position": Evil(), "yaw": yaw}))
    with pytest.raises(DataError, match="refusing"):
        ReconDataset(tmp_path, names=["traj_b"]).poses(0)
    with pytest.raises(LawmEvalError, match="trajectories not found: nope"):
        ReconDataset(tmp_path, names=["nope"])


def test_libero_hdf5_round_trip(tmp_path):
    demos = [{"actions": np.ones((4, 7)), "states": np.zeros((4, 10)), "rewards": np.zeros(4), "dones": np.eye(4)[-1],
              "obs": {"agentview_rgb": smooth_frames(4), "ee_pos": np.ones((4, 3)), "ee_ori": np.zeros((4, 3)),
                      "gripper_states": np.zeros((4, 2))}} for _ in range(2)]
    path = write_libero_demos(tmp_path / "task_demo.hdf5", demos, {"env_name": "x"},
                              {"language_instruction": "pick up the bowl"}, "task.bddl")
    demos_read = LiberoDemos(path)
    assert len(demos_read) == 2 and demos_read.language == "pick up the bowl"
    episode = demos_read.episode(1)
    assert np.array_equal(episode.frames, demos[1]["obs"]["agentview_rgb"]) and episode.states.shape == (4, 8)
    assert detect_format(path) == "libero_hdf5"


def test_committed_fixtures_from_our_generators_are_readable():
    franka = open_dataset(FIXTURES / "franka_lerobot")
    assert detect_format(FIXTURES / "franka_lerobot") == "lerobot" and len(franka) == 2
    episode = franka.episode(0)
    assert episode.frames.shape == (8, 64, 64, 3) and episode.actions.shape == (8, 7)
    # the DROID-style action is the end-effector state delta between frames
    deltas = np.diff(episode.states, axis=0)
    assert np.allclose(episode.actions[:-1, :3], deltas[:, :3], atol=1e-6)
    recon = open_dataset(FIXTURES / "recon")
    assert detect_format(FIXTURES / "recon") == "recon" and len(recon) == 2
    nav = recon.episode(1)
    assert nav.frames.shape == (8, 64, 64, 3) and nav.actions.shape == (8, 3)
    assert nav.frames.std() > 10  # a textured scene, not a blank render


def test_unknown_dataset_is_one_clear_error(tmp_path):
    with pytest.raises(LawmEvalError, match="not a LeRobot dataset"):
        open_dataset(tmp_path)


def test_lerobot_v30_several_episodes_per_file_two_cameras_non_square(tmp_path):
    """v3.0 (LeRobot ≥ 0.4): 5 episodes of different lengths in 2 files per camera; each episode's
    rows, frames of either camera and task come back, located through meta/episodes/."""
    import pyarrow.parquet as pq

    lengths = [5, 7, 4, 6, 5]
    episodes = [Episode(np.repeat(smooth_frames(n, s)[:, :48], 2, axis=2)[:, :, :100],  # (n,48,100,3)
                        np.arange(n * 7, dtype=np.float32).reshape(n, 7) + 100 * s,
                        np.full((n, 7), s, dtype=np.float32), task=f"task {s % 3}", fps=15) for s, n in enumerate(lengths)]
    wrist = [np.full((n, 30, 40, 3), 20 * s, dtype=np.uint8) for s, n in enumerate(lengths)]
    write_lerobot(tmp_path, episodes, fps=15, image_key="exterior", version="v3.0", extra_cameras={"wrist": wrist},
                  episodes_per_file=3)
    assert sorted(p.name for p in (tmp_path / "data" / "chunk-000").iterdir()) == ["file-000.parquet", "file-001.parquet"]
    assert (tmp_path / "videos" / "observation.images.wrist" / "chunk-000" / "file-001.mp4").is_file()
    assert (tmp_path / "meta" / "tasks.parquet").is_file() and not (tmp_path / "meta" / "episodes.jsonl").exists()
    rows = pq.read_table(tmp_path / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [r["dataset_from_index"] for r in rows] == [0, 5, 12, 16, 22]
    assert rows[4]["videos/observation.images.exterior/from_timestamp"] == pytest.approx(6 / 15)

    dataset = open_dataset(tmp_path)
    assert dataset.version == "v3.0" and dataset.cameras == ["exterior", "wrist"] and dataset.camera == "exterior"
    assert dataset.lengths() == lengths
    for s, original in enumerate(episodes):
        loaded = dataset.episode(s)
        assert loaded.frames.shape == (lengths[s], 48, 100, 3)
        assert np.array_equal(loaded.actions, original.actions) and loaded.task == original.task
        assert np.abs(loaded.frames.astype(int) - original.frames.astype(int)).mean() < 3.0
    wrist_set = open_dataset(tmp_path, camera="wrist")
    assert wrist_set.camera == "wrist"
    third = wrist_set.episode(3)  # second file, first episode: frames from the right offset
    assert third.frames.shape == (6, 30, 40, 3) and abs(float(third.frames.mean()) - 60) < 2
    assert "LeRobot v3.0" in dataset.describe() and "48×100" in dataset.describe()
    with pytest.raises(LawmEvalError, match="no camera 'top'.*exterior, wrist"):
        open_dataset(tmp_path, camera="top")


def test_lerobot_v30_tasks_parquet_as_lerobot_writes_it(tmp_path):
    """LeRobot writes meta/tasks.parquet from a pandas frame indexed by the task string."""
    import pandas as pd
    episodes = [Episode(smooth_frames(3, s), np.zeros((3, 7), np.float32), task=t, fps=4)
                for s, t in enumerate(["open the drawer", "close it"])]
    write_lerobot(tmp_path, episodes, fps=4, version="v3.0")
    pd.DataFrame({"task_index": [1, 0]}, index=pd.Index(["close it", "open the drawer"], name="task")).to_parquet(
        tmp_path / "meta" / "tasks.parquet")
    assert [ep.task for ep in open_dataset(tmp_path)] == ["open the drawer", "close it"]


def test_rewriting_a_subset_keeps_the_files_findable(tmp_path):
    """Episodes read from one dataset carry their source index in ``meta``; written as a subset, they
    are renumbered 0..n-1 and every one of them opens again (v2.1 and v3.0)."""
    source = [Episode(smooth_frames(3, s), np.full((3, 7), s, np.float32), task="t", fps=4) for s in range(4)]
    write_lerobot(tmp_path / "all", source, fps=4)
    picked = [open_dataset(tmp_path / "all").episode(i) for i in (1, 3)]
    assert [ep.meta["episode_index"] for ep in picked] == [1, 3]
    for version in ("v2.1", "v3.0"):
        subset = open_dataset(write_lerobot(tmp_path / version, picked, fps=4, version=version))
        assert [float(ep.actions[0, 0]) for ep in subset] == [1.0, 3.0]


def test_a_folder_of_lerobot_datasets_reads_as_one(tmp_path):
    """What libero_rollouts writes (one dataset per task): opened as one, in folder order, each episode
    naming its folder; a folder still being written (no .complete beside finished ones) is left out."""
    def episodes(task, seeds):
        return [Episode(smooth_frames(4 + s, s), np.full((4 + s, 7), s, np.float32), np.zeros((4 + s, 8), np.float32),
                        task=task, fps=20, meta={"success": bool(s % 2)}) for s in seeds]
    for name, seeds in (("b_task", [1, 2]), ("a_task", [3]), ("c_unfinished", [4])):
        write_lerobot(tmp_path / name, episodes(name, seeds), fps=20)
        if name != "c_unfinished":
            (tmp_path / name / ".complete").write_text("ok\n")
    assert detect_format(tmp_path) == "lerobot_collection"
    dataset = open_dataset(tmp_path)
    assert len(dataset) == 3 and dataset.lengths() == [7, 5, 6]
    assert [e.meta["dataset"] for e in dataset] == ["a_task", "b_task", "b_task"]
    third = dataset.episode(2)
    assert third.task == "b_task" and third.actions[0, 0] == 2 and third.meta["success"] is False
    assert "3 episodes" in dataset.describe() and dataset.camera == "agentview"
    with pytest.raises(IndexError):
        dataset.episode(3)


def test_a_dataset_fingerprint_follows_its_content_not_its_place(tmp_path):
    from lawm_eval.util.hashing import folder_fingerprint

    first, second = tmp_path / "a", tmp_path / "b"
    for root in (first, second):
        (root / "data").mkdir(parents=True)
        (root / "data" / "x.bin").write_bytes(b"\x00" * 100)
        (root / "meta.json").write_text("{}")
    (second / ".complete").write_text("ok")  # hidden markers are not data
    assert folder_fingerprint(first) == folder_fingerprint(second)
    assert folder_fingerprint(first).startswith("sha256:") and len(folder_fingerprint(first)) == len("sha256:") + 16
    (second / "data" / "x.bin").write_bytes(b"\x00" * 99 + b"\x01")  # one byte: another dataset
    assert folder_fingerprint(first) != folder_fingerprint(second)
    (second / "data" / "x.bin").write_bytes(b"\x00" * 100)
    (second / "data" / "x.bin").rename(second / "data" / "y.bin")  # same bytes, another file name
    assert folder_fingerprint(first) != folder_fingerprint(second)
    # past the size limit only names and sizes count: the changed byte goes unseen, a changed size does not
    (second / "data" / "y.bin").rename(second / "data" / "x.bin")
    (second / "data" / "x.bin").write_bytes(b"\x00" * 99 + b"\x01")
    big = folder_fingerprint(first, max_bytes=10)
    assert big.startswith("names+sizes:") and big == folder_fingerprint(second, max_bytes=10)
    (second / "data" / "x.bin").write_bytes(b"\x00" * 101)
    assert folder_fingerprint(first, max_bytes=10) != folder_fingerprint(second, max_bytes=10)
    # a single file is one dataset too, under the same size limit; a missing path is an error, not an empty digest
    one = first / "data" / "x.bin"
    assert folder_fingerprint(one).startswith("sha256:") and folder_fingerprint(one, max_bytes=10).startswith("names+")
    with pytest.raises(FileNotFoundError):
        folder_fingerprint(tmp_path / "missing")


def test_suites_fingerprint_their_datasets_once_generated(monkeypatch, tmp_path):
    from lawm_eval.catalog import registries
    from lawm_eval.data import recipes
    from lawm_eval.suites.latent_analysis import LatentAnalysisSuite
    from lawm_eval.util.hashing import folder_fingerprint

    generated: list[str] = []
    monkeypatch.setattr(recipes, "is_generated", lambda spec: spec in generated)
    monkeypatch.setattr(recipes, "dataset_path", lambda spec: tmp_path / spec)

    def generate(spec):
        (tmp_path / spec).mkdir(exist_ok=True)
        (tmp_path / spec / "episode.bin").write_bytes(spec.encode())
        generated.append(spec)
        return tmp_path / spec

    monkeypatch.setattr(recipes, "resolve_dataset", generate)
    suite = LatentAnalysisSuite(registries()["suite"].get("latent_analysis"))
    names = list(dict.fromkeys(suite.datasets()))
    assert set(suite.data_fingerprints().values()) == {"not generated yet"}  # validate: nothing written
    suite.episodes()  # the run enumerates its episodes before its parts record the versions: data generated here
    versions = suite.simulator_versions()
    assert sorted(generated) == sorted(names)
    assert all(versions[f"data:{name}"] == folder_fingerprint(tmp_path / name) for name in names)


def test_a_recipe_is_generated_once_when_two_processes_ask_for_it_together(tmp_path):
    """Two test workers or parallel runs on a fresh cache: the second waits for the first's dataset."""
    import os
    import subprocess
    import sys

    log = tmp_path / "generations.log"
    script = (  # each process says it started; the generator waits until both have, so the two asks overlap
        "import sys, time\n"
        "from pathlib import Path\n"
        "from lawm_eval.data import recipes\n"
        "here = Path(sys.argv[1]).parent\n"
        "def generate(recipe, path, keep_open=()):\n"
        "    with open(sys.argv[1], 'a') as log:\n"
        "        log.write('generated\\n')\n"
        "    deadline = time.monotonic() + 60\n"
        "    while len(list(here.glob('started-*'))) < 2 and time.monotonic() < deadline:\n"
        "        time.sleep(0.05)\n"
        "    time.sleep(0.5)\n"
        "    path.mkdir(parents=True, exist_ok=True)\n"
        "    (path / '.complete').write_text('ok')\n"
        "recipes.generate_apart = generate\n"
        "(here / f'started-{sys.argv[2]}').touch()\n"
        "print(recipes.ensure_dataset('franka_val'))\n"
    )
    env = {**os.environ, "LAWM_EVAL_CACHE": str(tmp_path / "cache")}
    runs = [subprocess.Popen([sys.executable, "-c", script, str(log), str(k)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for k in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    paths = [out.strip() for out, _ in outputs]
    assert all(run.returncode == 0 for run in runs)
    assert sum("waiting for another process generating the 'franka_val' dataset" in err for _, err in outputs) == 1
    assert paths[0] == paths[1] == str(tmp_path / "cache" / "data" / "franka_val_v2")
    assert log.read_text() == "generated\n"
