"""episodes.jsonl: one JSON object per finished episode, appended and flushed one at a time.

- A record is written with a single ``write`` of ``json + "\\n"``, then flushed and fsync'ed, so a
  killed process leaves at most one torn last line.
- On open, a torn last line (bytes after the final newline that are not a whole record) is
  reported, copied to ``episodes.jsonl.torn`` and cut off, so the next append starts clean.
- A corrupt line anywhere else is a RecordsError naming the line: nothing is dropped silently.
- Keys (suite, version, task, episode_idx, seed) are unique: an append of a key already present
  is refused, so a resumed run never duplicates an episode — except over a record that holds an
  error, when the run retries errored episodes (``retry_errors=true``): the new line supersedes it,
  and readers keep the last record of a key whose earlier ones errored (``unique_records``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from lawm_eval.errors import RecordsError
from lawm_eval.types import EpisodeKey, EpisodeRecord

log = logging.getLogger("lawm_eval")

EPISODES_FILE = "episodes.jsonl"


def parse_line(line: bytes) -> EpisodeRecord:
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return EpisodeRecord.from_dict(data)


def read_records(path: Path) -> tuple[list[EpisodeRecord], bytes]:
    """(records, torn tail bytes) of an episodes file; raise RecordsError on a corrupt line."""
    if not path.exists():
        return [], b""
    data = path.read_bytes()
    *lines, tail = data.split(b"\n")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(parse_line(line))
        except (ValueError, TypeError) as exc:
            raise RecordsError(
                f"{path}:{number}: corrupt record ({exc}); fix or delete that line, the other records are intact"
            ) from None
    if tail.strip():
        try:  # a whole record whose newline was not written yet
            records.append(parse_line(tail))
            tail = b""
        except (ValueError, TypeError):
            pass
    return records, tail


def supersedes(old: EpisodeRecord | None) -> bool:
    """Whether a new record of the same key may replace ``old``: only a missing or errored one."""
    return old is None or old.error is not None


def unique_records(records: list[EpisodeRecord], where: Path | str = "") -> dict[EpisodeKey, EpisodeRecord]:
    """One record per key, in file order: a later record replaces an errored one (a retry); any
    other repeat is ignored with a warning, keeping the first."""
    unique: dict[EpisodeKey, EpisodeRecord] = {}
    for record in records:
        if not supersedes(unique.get(record.key)):
            log.warning("%s: episode %s appears twice; keeping the first record", where, record.key)
            continue
        unique[record.key] = record
    return unique


class RecordStore:
    """The records of one run directory, loaded once and appended to by the driver only."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / EPISODES_FILE
        records, self.torn = read_records(self.path)
        self.records: dict[EpisodeKey, EpisodeRecord] = unique_records(records, self.path)
        if self.torn:
            self._cut_torn_tail()

    def _cut_torn_tail(self) -> None:
        torn_path = self.path.with_name(self.path.name + ".torn")
        with open(torn_path, "ab") as f:
            f.write(self.torn + b"\n")
        size = self.path.stat().st_size - len(self.torn)
        with open(self.path, "r+b") as f:
            f.truncate(size)
        log.warning(
            "%s: ignored a torn last line (%d bytes, from an interrupted write); copied to %s",
            self.path, len(self.torn), torn_path.name,
        )

    def __contains__(self, key: object) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def accepts(self, record: EpisodeRecord) -> bool:
        """Whether ``append`` would write this record (its key is new, or recorded with an error)."""
        return supersedes(self.records.get(record.key))

    def append(self, record: EpisodeRecord) -> bool:
        """Append one record durably; False (and nothing written) if its key is already recorded
        without an error (a record holding an error may be superseded by a retry)."""
        if not self.accepts(record):
            return False
        line = (json.dumps(record.to_dict(), allow_nan=False, separators=(",", ":")) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        needs_newline = self.path.exists() and self.path.stat().st_size > 0 and not _ends_with_newline(self.path)
        with open(self.path, "ab") as f:
            f.write((b"\n" if needs_newline else b"") + line)
            f.flush()
            os.fsync(f.fileno())
        self.records[record.key] = record
        return True


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
