"""LeRobot-style datasets (v2.x layout, as DROID and LIBERO are distributed on the Hub today):

    meta/info.json          fps, features (dtype/shape/names), path templates, totals
    meta/episodes.jsonl     {"episode_index", "tasks", "length"} per episode
    meta/tasks.jsonl        {"task_index", "task"}
    data/chunk-000/episode_000000.parquet   one row per frame: observation.state, action, timestamp,
                                            frame_index, episode_index, index, task_index
    videos/chunk-000/<video key>/episode_000000.mp4   (features of dtype "video")

Image features of dtype "image" (PNG bytes in the parquet, as in LeRobot's *_image datasets) are read
too.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.data.episode import Episode
from lawm_eval.errors import LawmEvalError
from lawm_eval.extras import require_extra
from lawm_eval.util.video import read_mp4, write_mp4

CODEBASE_VERSION = "v2.1"
CHUNK_SIZE = 1000
DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"


def write_lerobot(root: str | Path, episodes: Sequence[Episode], fps: float, image_key: str = "agentview",
                  robot_type: str = "panda", state_names: Sequence[str] = (), action_names: Sequence[str] = ()) -> Path:
    """Write ``episodes`` as a LeRobot dataset with one mp4 camera ``observation.images.<image_key>``."""
    require_extra("data", "writing LeRobot datasets")
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(root)
    (root / "meta").mkdir(parents=True, exist_ok=True)
    video_key = f"observation.images.{image_key}"
    tasks: dict[str, int] = {}
    index = 0
    episode_lines = []
    for i, ep in enumerate(episodes):
        task_index = tasks.setdefault(ep.task, len(tasks))
        n = len(ep)
        table = {
            "action": [row.astype(np.float32).tolist() for row in ep.actions],
            "timestamp": (np.arange(n) / fps).astype(np.float32),
            "frame_index": np.arange(n, dtype=np.int64),
            "episode_index": np.full(n, i, dtype=np.int64),
            "index": np.arange(index, index + n, dtype=np.int64),
            "task_index": np.full(n, task_index, dtype=np.int64),
        }
        if ep.states is not None:
            table["observation.state"] = [row.astype(np.float32).tolist() for row in ep.states]
        data_path = root / DATA_PATH.format(episode_chunk=i // CHUNK_SIZE, episode_index=i)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(table), data_path)
        write_mp4(ep.frames, root / VIDEO_PATH.format(episode_chunk=i // CHUNK_SIZE, video_key=video_key,
                                                       episode_index=i), fps)
        episode_lines.append({"episode_index": i, "tasks": [ep.task], "length": n, **ep.meta})
        index += n
    first = episodes[0]
    features: dict[str, Any] = {
        video_key: {"dtype": "video", "shape": list(first.frames.shape[1:]), "names": ["height", "width", "channel"],
                    "info": {"video.fps": fps, "video.codec": "h264", "video.pix_fmt": "yuv444p"}},
        "action": {"dtype": "float32", "shape": [first.actions.shape[1]], "names": list(action_names) or None},
        "timestamp": {"dtype": "float32", "shape": [1], "names": None},
        "frame_index": {"dtype": "int64", "shape": [1], "names": None},
        "episode_index": {"dtype": "int64", "shape": [1], "names": None},
        "index": {"dtype": "int64", "shape": [1], "names": None},
        "task_index": {"dtype": "int64", "shape": [1], "names": None},
    }
    if first.states is not None:
        features["observation.state"] = {"dtype": "float32", "shape": [first.states.shape[1]],
                                         "names": list(state_names) or None}
    info = {
        "codebase_version": CODEBASE_VERSION, "robot_type": robot_type, "total_episodes": len(episodes),
        "total_frames": index, "total_tasks": len(tasks), "total_videos": len(episodes), "total_chunks":
        (len(episodes) - 1) // CHUNK_SIZE + 1, "chunks_size": CHUNK_SIZE, "fps": fps,
        "splits": {"train": f"0:{len(episodes)}"}, "data_path": DATA_PATH, "video_path": VIDEO_PATH,
        "features": features,
    }
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    (root / "meta" / "episodes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in episode_lines))
    (root / "meta" / "tasks.jsonl").write_text(
        "".join(json.dumps({"task_index": i, "task": t}) + "\n" for t, i in tasks.items()))
    return root


class LeRobotDataset:
    """Read a LeRobot-style dataset episode by episode."""

    def __init__(self, root: str | Path, image_key: str | None = None):
        require_extra("data", "reading LeRobot datasets")
        self.root = Path(root)
        info_path = self.root / "meta" / "info.json"
        if not info_path.is_file():
            raise LawmEvalError(f"{self.root} is not a LeRobot dataset (no meta/info.json)")
        self.info = json.loads(info_path.read_text())
        self.fps = float(self.info["fps"])
        images = [k for k, v in self.info["features"].items() if v.get("dtype") in ("video", "image")]
        if not images:
            raise LawmEvalError(f"{self.root}: no image or video feature in meta/info.json")
        self.image_key = image_key or images[0]
        if self.image_key not in images:
            raise LawmEvalError(f"{self.root}: no image feature '{self.image_key}' (has: {', '.join(images)})")
        tasks_path = self.root / "meta" / "tasks.jsonl"
        self.tasks = {}
        if tasks_path.exists():
            for line in tasks_path.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.tasks[row["task_index"]] = row["task"]

    def __len__(self) -> int:
        return int(self.info["total_episodes"])

    def lengths(self) -> list[int]:
        """Frames per episode, from meta/episodes.jsonl (no video is decoded)."""
        rows = [json.loads(line) for line in (self.root / "meta" / "episodes.jsonl").read_text().splitlines()
                if line.strip()]
        return [int(row["length"]) for row in sorted(rows, key=lambda r: r["episode_index"])]

    def episode(self, i: int) -> Episode:
        import pyarrow.parquet as pq

        if not 0 <= i < len(self):
            raise IndexError(f"episode {i} out of range 0..{len(self) - 1}")
        chunk = i // int(self.info.get("chunks_size", CHUNK_SIZE))
        table = pq.read_table(self.root / self.info["data_path"].format(episode_chunk=chunk, episode_index=i))
        columns = table.column_names
        feature = self.info["features"][self.image_key]
        if feature["dtype"] == "video":
            frames = read_mp4(self.root / self.info["video_path"].format(
                episode_chunk=chunk, video_key=self.image_key, episode_index=i))
        else:
            frames = np.stack([_decode_image(cell) for cell in table.column(self.image_key).to_pylist()])
        actions = np.asarray(table.column("action").to_pylist(), dtype=np.float32)
        states = (np.asarray(table.column("observation.state").to_pylist(), dtype=np.float32)
                  if "observation.state" in columns else None)
        n = min(len(frames), len(actions))
        task_index = int(table.column("task_index")[0].as_py()) if "task_index" in columns else 0
        return Episode(frames[:n], actions[:n], None if states is None else states[:n],
                       task=self.tasks.get(task_index, ""), fps=self.fps, meta={"episode_index": i})

    def __iter__(self) -> Iterator[Episode]:
        return (self.episode(i) for i in range(len(self)))


def _decode_image(cell: Any) -> np.ndarray:
    from PIL import Image

    data = cell["bytes"] if isinstance(cell, dict) else cell
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
