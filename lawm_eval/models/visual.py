"""The frozen visual encoder/decoder the bundled world models share (our stand-in for the frozen
V-JEPA 2 / DINOv3 features, which cannot be downloaded here), and a loader for a user's encoder.

64×64 RGB → 4×4 grid of 32-d tokens (16 tokens) and back. Trained once as an autoencoder on frames
of both generated datasets (``lawm_eval/models/train``), then frozen.
"""

from __future__ import annotations

import torch
from torch import nn

from lawm_eval.errors import ModelError

Tensor = torch.Tensor
IMAGE_SIZE = 64
GRID = 4
TOKEN_DIM = 32
STATE_SHAPE = (GRID * GRID, TOKEN_DIM)  # S = (16, 32)


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.GroupNorm(8, cout), nn.SiLU())


def _deconv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1), nn.GroupNorm(8, cout), nn.SiLU())


class ConvEncoder(nn.Module):
    def __init__(self, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(_conv(3, width), _conv(width, 2 * width), _conv(2 * width, 2 * width),
                                 _conv(2 * width, 2 * width), nn.Conv2d(2 * width, TOKEN_DIM, 1))

    def forward(self, images: Tensor) -> Tensor:  # (B,3,64,64) in [0,1] -> (B,16,32)
        return self.net(images * 2 - 1).flatten(2).transpose(1, 2)


class ConvDecoder(nn.Module):
    def __init__(self, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(TOKEN_DIM, 2 * width, 1), _deconv(2 * width, 2 * width),
                                 _deconv(2 * width, 2 * width), _deconv(2 * width, width), _deconv(width, width),
                                 nn.Conv2d(width, 3, 3, padding=1))

    def forward(self, tokens: Tensor) -> Tensor:  # (B,16,32) -> (B,3,64,64) in [0,1]
        grid = tokens.transpose(1, 2).reshape(tokens.shape[0], TOKEN_DIM, GRID, GRID)
        return torch.sigmoid(self.net(grid))


class VisualAutoencoder(nn.Module):
    """Encoder + Decoder parts of the model interface, over (B,T,...) sequences."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.encoder, self.decoder = ConvEncoder(width), ConvDecoder(width)

    @staticmethod
    def to_unit(frames: Tensor) -> Tensor:
        """uint8 or float frames, (…,3,H,W) or (…,H,W,3) → float (…,3,64,64) in [0,1]."""
        if frames.shape[-1] == 3 and frames.shape[-3] != 3:
            frames = frames.movedim(-1, -3)
        frames = frames.float() / 255.0 if frames.dtype == torch.uint8 else frames.float()
        if tuple(frames.shape[-2:]) != (IMAGE_SIZE, IMAGE_SIZE):
            raise ModelError(f"the bundled encoder reads 64×64 frames, got {tuple(frames.shape[-2:])}")
        return frames

    @torch.no_grad()
    def encode(self, observations: Tensor) -> Tensor:  # (B,T,3,64,64) -> (B,T,16,32)
        frames = self.to_unit(observations)
        b, t = frames.shape[:2]
        return self.encoder(frames.flatten(0, 1)).view(b, t, *STATE_SHAPE)

    @torch.no_grad()
    def decode(self, states: Tensor) -> Tensor:  # (B,T,16,32) -> (B,T,3,64,64)
        b, t = states.shape[:2]
        return self.decoder(states.flatten(0, 1)).view(b, t, 3, IMAGE_SIZE, IMAGE_SIZE)


def load_user_encoder(target: str, **params):
    """A user's frozen encoder, ``package.module:factory``, for the training scripts: any object
    with ``encode((B,T,3,H,W)) -> (B,T,*S)``."""
    from lawm_eval.registry import import_target

    encoder = import_target(target)(**params)
    if not hasattr(encoder, "encode"):
        raise ModelError(f"{target} returned a {type(encoder).__name__} without an encode() method")
    return encoder
