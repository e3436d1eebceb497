"""LeRobot datasets, in both layouts on the Hub today (DROID and LIBERO are distributed as either).

v2.1: one parquet and one mp4 per camera for each episode::

    meta/info.json          fps, features (dtype/shape/names), path templates, totals
    meta/episodes.jsonl     {"episode_index", "tasks", "length"} per episode
    meta/tasks.jsonl        {"task_index", "task"}
    data/chunk-000/episode_000000.parquet   one row per frame: observation.state, action, timestamp,
                                            frame_index, episode_index, index, task_index
    videos/chunk-000/<video key>/episode_000000.mp4

v3.0 (what LeRobot ≥ 0.4 writes): several episodes per file, located by per-episode metadata::

    meta/info.json          as above, data_path/video_path with {chunk_index}/{file_index}
    meta/episodes/chunk-000/file-000.parquet   per episode: episode_index, tasks, length,
                            data/chunk_index, data/file_index, dataset_from_index, dataset_to_index,
                            videos/<key>/chunk_index, .../file_index, .../from_timestamp, .../to_timestamp
    meta/tasks.parquet      task_index per task (the task string is the pandas index)
    data/chunk-000/file-000.parquet            the rows of several episodes
    videos/<video key>/chunk-000/file-000.mp4  the frames of several episodes, back to back

Image features of dtype "image" (PNG bytes in the parquet, as in LeRobot's *_image datasets) are read
too. A dataset may have several cameras (``observation.images.<name>``); ``camera=`` picks one by
its short name or full key, the first one otherwise.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.data.episode import Episode
from lawm_eval.errors import LawmEvalError
from lawm_eval.extras import require_extra
from lawm_eval.util.video import read_mp4, write_mp4

VERSIONS = ("v2.1", "v3.0")
CHUNK_SIZE = 1000
CAMERA_PREFIX = "observation.images."
V21_DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
V21_VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
V30_DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
V30_VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
V30_EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"


def camera_key(name: str) -> str:
    """'wrist' → 'observation.images.wrist' (a full key is returned as it is)."""
    return name if "." in name else CAMERA_PREFIX + name


def camera_name(key: str) -> str:
    return key[len(CAMERA_PREFIX):] if key.startswith(CAMERA_PREFIX) else key


# -- writing -------------------------------------------------------------------------------------
def write_lerobot(root: str | Path, episodes: Sequence[Episode], fps: float, image_key: str = "agentview",
                  robot_type: str = "panda", state_names: Sequence[str] = (), action_names: Sequence[str] = (),
                  version: str = "v2.1", extra_cameras: Mapping[str, Sequence[np.ndarray]] | None = None,
                  episodes_per_file: int = 4) -> Path:
    """Write ``episodes`` as a LeRobot dataset: camera ``observation.images.<image_key>`` holds each
    episode's frames, every ``extra_cameras[name][i]`` (T,H',W',3) another camera of episode i.
    ``version`` v2.1 (a file per episode) or v3.0 (``episodes_per_file`` episodes per parquet/mp4)."""
    require_extra("data", "writing LeRobot datasets")
    if version not in VERSIONS:
        raise LawmEvalError(f"LeRobot version must be one of {', '.join(VERSIONS)}, got '{version}'")
    root = Path(root)
    (root / "meta").mkdir(parents=True, exist_ok=True)
    cameras: dict[str, list[np.ndarray]] = {camera_key(image_key): [ep.frames for ep in episodes]}
    for name, videos in (extra_cameras or {}).items():
        if len(videos) != len(episodes):
            raise ValueError(f"camera '{name}' has {len(videos)} videos for {len(episodes)} episodes")
        for ep, video in zip(episodes, videos):
            if len(video) != len(ep):
                raise ValueError(f"camera '{name}': {len(video)} frames for an episode of {len(ep)}")
        cameras[camera_key(name)] = list(videos)
    tasks: dict[str, int] = {}
    for ep in episodes:
        tasks.setdefault(ep.task, len(tasks))
    tables, starts = [], []
    index = 0
    for i, ep in enumerate(episodes):
        tables.append(_frame_table(ep, i, index, tasks[ep.task], fps))
        starts.append(index)
        index += len(ep)
    if version == "v2.1":
        _write_v21(root, episodes, tables, cameras, tasks, fps)
    else:
        _write_v30(root, episodes, tables, starts, cameras, tasks, fps, episodes_per_file)
    first = episodes[0]
    features: dict[str, Any] = {
        key: {"dtype": "video", "shape": list(videos[0].shape[1:]), "names": ["height", "width", "channel"],
              "info": {"video.fps": fps, "video.codec": "h264", "video.pix_fmt": "yuv444p"}}
        for key, videos in cameras.items()
    }
    features.update({
        "action": {"dtype": "float32", "shape": [first.actions.shape[1]], "names": list(action_names) or None},
        "timestamp": {"dtype": "float32", "shape": [1], "names": None},
        "frame_index": {"dtype": "int64", "shape": [1], "names": None},
        "episode_index": {"dtype": "int64", "shape": [1], "names": None},
        "index": {"dtype": "int64", "shape": [1], "names": None},
        "task_index": {"dtype": "int64", "shape": [1], "names": None},
    })
    if first.states is not None:
        features["observation.state"] = {"dtype": "float32", "shape": [first.states.shape[1]],
                                         "names": list(state_names) or None}
    info = {
        "codebase_version": version, "robot_type": robot_type, "total_episodes": len(episodes),
        "total_frames": index, "total_tasks": len(tasks), "chunks_size": CHUNK_SIZE, "fps": fps,
        "splits": {"train": f"0:{len(episodes)}"}, "features": features,
    }
    if version == "v2.1":
        info.update(total_videos=len(episodes) * len(cameras), total_chunks=(len(episodes) - 1) // CHUNK_SIZE + 1,
                    data_path=V21_DATA_PATH, video_path=V21_VIDEO_PATH)
    else:
        info.update(data_files_size_in_mb=100, video_files_size_in_mb=200, data_path=V30_DATA_PATH,
                    video_path=V30_VIDEO_PATH)
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    return root


def _frame_table(ep: Episode, episode_index: int, first_index: int, task_index: int, fps: float) -> dict[str, Any]:
    n = len(ep)
    table: dict[str, Any] = {
        "action": [row.astype(np.float32).tolist() for row in ep.actions],
        "timestamp": (np.arange(n) / fps).astype(np.float32),
        "frame_index": np.arange(n, dtype=np.int64),
        "episode_index": np.full(n, episode_index, dtype=np.int64),
        "index": np.arange(first_index, first_index + n, dtype=np.int64),
        "task_index": np.full(n, task_index, dtype=np.int64),
    }
    if ep.states is not None:
        table["observation.state"] = [row.astype(np.float32).tolist() for row in ep.states]
    return table


def _write_v21(root: Path, episodes: Sequence[Episode], tables: list[dict[str, Any]],
               cameras: dict[str, list[np.ndarray]], tasks: dict[str, int], fps: float) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = []
    for i, (ep, table) in enumerate(zip(episodes, tables)):
        chunk = i // CHUNK_SIZE
        path = root / V21_DATA_PATH.format(episode_chunk=chunk, episode_index=i)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(table), path)
        for key, videos in cameras.items():
            write_mp4(videos[i], root / V21_VIDEO_PATH.format(episode_chunk=chunk, video_key=key, episode_index=i), fps)
        # the episode's own metadata first: its index in the source dataset must not rename the files
        lines.append({**ep.meta, "episode_index": i, "tasks": [ep.task], "length": len(ep)})
    (root / "meta" / "episodes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    (root / "meta" / "tasks.jsonl").write_text(
        "".join(json.dumps({"task_index": i, "task": t}) + "\n" for t, i in tasks.items()))


def _write_v30(root: Path, episodes: Sequence[Episode], tables: list[dict[str, Any]], starts: list[int],
               cameras: dict[str, list[np.ndarray]], tasks: dict[str, int], fps: float, per_file: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for file_index, first in enumerate(range(0, len(episodes), per_file)):
        members = range(first, min(first + per_file, len(episodes)))
        merged = {key: [value for i in members for value in list(tables[i][key])] for key in tables[first]}
        path = root / V30_DATA_PATH.format(chunk_index=0, file_index=file_index)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(merged), path)
        for key, videos in cameras.items():
            write_mp4(np.concatenate([videos[i] for i in members]),
                      root / V30_VIDEO_PATH.format(video_key=key, chunk_index=0, file_index=file_index), fps)
        offset = 0
        for i in members:
            n = len(episodes[i])
            row: dict[str, Any] = {"episode_index": i, "tasks": [episodes[i].task], "length": n,
                                   "data/chunk_index": 0, "data/file_index": file_index,
                                   "dataset_from_index": starts[i], "dataset_to_index": starts[i] + n,
                                   "meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0}
            for key in cameras:
                row.update({f"videos/{key}/chunk_index": 0, f"videos/{key}/file_index": file_index,
                            f"videos/{key}/from_timestamp": offset / fps,
                            f"videos/{key}/to_timestamp": (offset + n) / fps})
            rows.append(row)
            offset += n
    path = root / V30_EPISODES_PATH.format(chunk_index=0, file_index=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    names = list(tasks)
    # LeRobot writes a pandas frame indexed by the task string; pyarrow stores the index as a column
    table = pa.table({"task_index": [tasks[t] for t in names], "__index_level_0__": names})
    metadata = {b"pandas": json.dumps({"index_columns": ["__index_level_0__"], "columns": []}).encode()}
    pq.write_table(table.replace_schema_metadata(metadata), root / "meta" / "tasks.parquet")


# -- reading -------------------------------------------------------------------------------------
class LeRobotDataset:
    """Read a LeRobot dataset (v2.x or v3.0) episode by episode, one camera at a time."""

    def __init__(self, root: str | Path, camera: str | None = None):
        require_extra("data", "reading LeRobot datasets")
        self.root = Path(root)
        info_path = self.root / "meta" / "info.json"
        if not info_path.is_file():
            raise LawmEvalError(f"{self.root} is not a LeRobot dataset (no meta/info.json)")
        try:
            self.info = json.loads(info_path.read_text())
            self.fps = float(self.info["fps"])
            features = self.info["features"]
        except (ValueError, KeyError, TypeError) as exc:
            raise LawmEvalError(f"{info_path}: not a LeRobot info.json ({type(exc).__name__}: {exc})") from None
        self.version = str(self.info.get("codebase_version", "v2.1"))
        self.image_keys = [k for k, v in features.items() if isinstance(v, dict) and v.get("dtype") in ("video", "image")]
        if not self.image_keys:
            raise LawmEvalError(f"{self.root}: no image or video feature in meta/info.json")
        self.image_key = self.image_keys[0] if camera is None else camera_key(camera)
        if self.image_key not in self.image_keys:
            raise LawmEvalError(f"{self.root}: no camera '{camera}' (cameras: {', '.join(self.cameras)})")
        if self.version.startswith("v3"):
            self._episodes = _read_v30_episodes(self.root)
            self.tasks = _read_v30_tasks(self.root)
        else:
            self._episodes = self._read_v21_episodes()
            tasks = self.root / "meta" / "tasks.jsonl"
            self.tasks = {int(r["task_index"]): r["task"] for r in _read_jsonl(tasks)} if tasks.is_file() else {}
        self._episodes.sort(key=lambda row: int(row["episode_index"]))

    @property
    def cameras(self) -> list[str]:
        """Short names of the dataset's cameras ('wrist' for observation.images.wrist)."""
        return [camera_name(k) for k in self.image_keys]

    @property
    def camera(self) -> str:
        return camera_name(self.image_key)

    def describe(self) -> str:
        h, w = self.info["features"][self.image_key].get("shape", [0, 0])[:2]
        return (f"LeRobot {self.version} dataset {self.root} ({len(self)} episodes at {self.fps:g} fps, "
                f"camera '{self.camera}' of {len(self.image_keys)}, {h}×{w})")

    def __len__(self) -> int:
        return len(self._episodes)

    def lengths(self) -> list[int]:
        """Frames per episode, from the episode metadata (no video is decoded)."""
        return [int(row["length"]) for row in self._episodes]

    def episode(self, i: int) -> Episode:
        if not 0 <= i < len(self):
            raise IndexError(f"episode {i} out of range 0..{len(self) - 1}")
        row = self._episodes[i]
        index = int(row["episode_index"])
        table, frames = (self._read_v30(row) if self.version.startswith("v3") else self._read_v21(index))
        columns = table.column_names
        if frames is None:  # an "image" feature: PNG bytes in the parquet
            frames = np.stack([_decode_image(cell) for cell in table.column(self.image_key).to_pylist()])
        actions = np.asarray(table.column("action").to_pylist(), dtype=np.float32)
        states = (np.asarray(table.column("observation.state").to_pylist(), dtype=np.float32)
                  if "observation.state" in columns else None)
        n = min(len(frames), len(actions))
        task_index = int(table.column("task_index")[0].as_py()) if "task_index" in columns else 0
        return Episode(frames[:n], actions[:n], None if states is None else states[:n],
                       task=self.tasks.get(task_index, ""), fps=self.fps,
                       meta={**episode_fields(row), "episode_index": index, "camera": self.camera})

    def _is_video(self) -> bool:
        return self.info["features"][self.image_key]["dtype"] == "video"

    def _read_v21_episodes(self) -> list[dict[str, Any]]:
        """meta/episodes.jsonl, or (older exports without it) the row count of each episode's parquet."""
        path = self.root / "meta" / "episodes.jsonl"
        if path.is_file():
            return _read_jsonl(path)
        import pyarrow.parquet as pq

        rows = []
        for index in range(int(self.info.get("total_episodes", 0))):
            chunk = index // int(self.info.get("chunks_size", CHUNK_SIZE))
            data = self.root / self.info["data_path"].format(episode_chunk=chunk, episode_index=index)
            rows.append({"episode_index": index, "length": pq.ParquetFile(data).metadata.num_rows})
        return rows

    def _read_v21(self, index: int) -> tuple[Any, np.ndarray | None]:
        import pyarrow.parquet as pq

        chunk = index // int(self.info.get("chunks_size", CHUNK_SIZE))
        table = pq.read_table(self.root / self.info["data_path"].format(episode_chunk=chunk, episode_index=index))
        frames = None
        if self._is_video():
            frames = read_mp4(self.root / self.info["video_path"].format(
                episode_chunk=chunk, video_key=self.image_key, episode_index=index))
        return table, frames

    def _read_v30(self, row: Mapping[str, Any]) -> tuple[Any, np.ndarray | None]:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        path = self.root / self.info["data_path"].format(chunk_index=int(row["data/chunk_index"]),
                                                         file_index=int(row["data/file_index"]))
        table = pq.read_table(path)
        table = table.filter(pc.equal(table.column("episode_index"), int(row["episode_index"])))
        frames = None
        if self._is_video():
            key = self.image_key
            video = self.root / self.info["video_path"].format(
                video_key=key, chunk_index=int(row[f"videos/{key}/chunk_index"]),
                file_index=int(row[f"videos/{key}/file_index"]))
            start = int(round(float(row[f"videos/{key}/from_timestamp"]) * self.fps))
            frames = read_mp4(video, start=start, count=int(row["length"]))
        return table, frames

    def __iter__(self) -> Iterator[Episode]:
        return (self.episode(i) for i in range(len(self)))


def episode_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """A dataset's own per-episode fields (e.g. the object and outcome lawm-eval's generators record),
    without LeRobot's bookkeeping (tasks, length, the ``meta/...`` and ``data/...`` file locations)."""
    return {k: v for k, v in row.items() if "/" not in k and k not in ("tasks", "length", "episode_index")}


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise LawmEvalError(f"{path.parent.parent} is not a complete LeRobot dataset (no {path.name})")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _read_v30_episodes(root: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    files = sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    if not files:
        raise LawmEvalError(f"{root} is a LeRobot v3.0 dataset without meta/episodes/chunk-*/file-*.parquet")
    rows: list[dict[str, Any]] = []
    for file in files:
        rows.extend(pq.read_table(file).to_pylist())
    return rows


def _read_v30_tasks(root: Path) -> dict[int, str]:
    """meta/tasks.parquet: task_index per task; the task string is a 'task' column or the pandas index."""
    import pyarrow.parquet as pq

    path = root / "meta" / "tasks.parquet"
    if not path.is_file():
        return {}
    table = pq.read_table(path)
    names = "task" if "task" in table.column_names else None
    if names is None:
        pandas = json.loads((table.schema.metadata or {}).get(b"pandas", b"{}"))
        index = [c for c in pandas.get("index_columns", []) if isinstance(c, str)]
        names = index[0] if index else None
    if names is None:
        return {}
    return {int(i): str(t) for i, t in zip(table.column("task_index").to_pylist(), table.column(names).to_pylist())}


def _decode_image(cell: Any) -> np.ndarray:
    from PIL import Image

    data = cell["bytes"] if isinstance(cell, dict) else cell
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
