from __future__ import annotations

import json
import math

import pytest

from lawm_eval.errors import RecordsError
from lawm_eval.runner.records import EPISODES_FILE, RecordStore, read_records
from lawm_eval.types import EpisodeRecord, EpisodeSpec


def record(i: int, **kw) -> EpisodeRecord:
    return EpisodeRecord(EpisodeSpec("s", "v1", "t", i, 100 + i), success=True, **kw)


def test_append_and_reload(tmp_path):
    store = RecordStore(tmp_path)
    assert store.append(record(0, metrics={"d": 0.5}))
    assert store.append(record(1))
    again = RecordStore(tmp_path)
    assert len(again) == 2
    assert again.records[("s", "v1", "t", 0, 100)].metrics == {"d": 0.5}


def test_a_key_is_never_written_twice(tmp_path):
    store = RecordStore(tmp_path)
    assert store.append(record(0))
    assert not store.append(record(0))
    lines = (tmp_path / EPISODES_FILE).read_text().splitlines()
    assert len(lines) == 1


def test_torn_last_line_is_reported_kept_aside_and_cut(tmp_path, caplog):
    store = RecordStore(tmp_path)
    store.append(record(0))
    store.append(record(1))
    path = tmp_path / EPISODES_FILE
    whole = json.dumps(record(2).to_dict())
    with open(path, "a") as f:
        f.write(whole[: len(whole) // 2])  # a write cut in the middle
    with caplog.at_level("WARNING", logger="lawm_eval"):
        resumed = RecordStore(tmp_path)
    assert len(resumed) == 2
    assert "torn last line" in caplog.text
    assert (tmp_path / (EPISODES_FILE + ".torn")).read_text().startswith(whole[:20])
    assert resumed.append(record(2))
    records, tail = read_records(path)
    assert [r.episode_idx for r in records] == [0, 1, 2] and tail == b""


def test_whole_last_record_without_newline_is_kept(tmp_path):
    path = tmp_path / EPISODES_FILE
    path.write_text(json.dumps(record(0).to_dict()))  # complete, newline missing
    store = RecordStore(tmp_path)
    assert len(store) == 1
    store.append(record(1))
    assert [r.episode_idx for r in read_records(path)[0]] == [0, 1]


def test_corrupt_middle_line_is_a_one_line_error(tmp_path):
    path = tmp_path / EPISODES_FILE
    good = json.dumps(record(0).to_dict())
    path.write_text(good + "\n{not json\n" + json.dumps(record(1).to_dict()) + "\n")
    with pytest.raises(RecordsError, match=r"episodes.jsonl:2: corrupt record") as info:
        RecordStore(tmp_path)
    assert "\n" not in str(info.value)
    assert path.read_text().count("\n") == 3  # nothing was removed


def test_record_missing_key_fields_is_corrupt(tmp_path):
    (tmp_path / EPISODES_FILE).write_text('{"suite": "s"}\n')
    with pytest.raises(RecordsError, match="lacks episode_idx"):
        RecordStore(tmp_path)


def test_non_finite_metrics_stay_json_and_round_trip(tmp_path):
    store = RecordStore(tmp_path)
    store.append(record(0, metrics={"psnr": math.inf, "bad": math.nan, "neg": -math.inf}))
    text = (tmp_path / EPISODES_FILE).read_text()
    json.loads(text)  # strict JSON: no NaN/Infinity tokens
    assert "NaN" not in text and "Infinity" not in text
    from lawm_eval.types import metric_value

    metrics = RecordStore(tmp_path).records[("s", "v1", "t", 0, 100)].metrics
    assert metric_value(metrics["psnr"]) == math.inf
    assert math.isnan(metric_value(metrics["bad"]))
    assert metric_value(metrics["neg"]) == -math.inf


def test_spec_and_record_round_trip():
    spec = EpisodeSpec("s", "v1", "t", 3, 7, group="g", task_index=2, params={"init_state": 3})
    assert EpisodeSpec.from_dict(spec.to_dict()) == spec
    rec = record(3, deviations=("a",), wall_time_s=1.5, started_at="x", worker="w")
    assert EpisodeRecord.from_dict(json.loads(json.dumps(rec.to_dict()))) == rec
    assert "wall_time_s" not in rec.comparable() and "worker" not in rec.comparable()
