"""The model input contract (lawm_eval/inputs.py): declarations, the resize methods, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from lawm_eval.bundle import ModelBundle, declared_inputs
from lawm_eval.errors import ConfigError
from lawm_eval.inputs import ModelInputs, adapt_images
from tests.real_shaped import exterior_view


def gradient(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) % 256], -1).astype(np.uint8)


def test_resize_with_pad_keeps_aspect_and_centres_black_bands():
    """openpi resize_with_pad: 100×200 into 224×224 → 112×224 content, 56 black rows above and below."""
    out = adapt_images(gradient(100, 200)[None], (224, 224), "resize_with_pad")[0]
    assert out.shape == (224, 224, 3)
    assert out[:56].max() == 0 and out[168:].max() == 0  # the pad
    assert out[56:168].mean() > 50  # the image
    from PIL import Image

    expected = np.asarray(Image.fromarray(gradient(100, 200)).resize((224, 112), Image.BILINEAR))
    assert np.array_equal(out[56:168], expected)


def test_center_crop_recovers_the_scene_of_a_padded_wide_frame():
    """A 64×64 scene shown at 192×192 in the middle of a 192×320 frame: centre crop + resize gives it back."""
    scene = gradient(64, 64)
    wide = exterior_view(scene[None])[0]
    assert wide.shape == (192, 320, 3)
    back = adapt_images(wide, (64, 64), "center_crop").astype(int)
    assert np.abs(back - scene.astype(int)).mean() < 4
    squashed = adapt_images(wide, (64, 64), "resize").astype(int)  # the whole frame, aspect not kept
    assert np.abs(squashed - scene.astype(int)).mean() > 20


def test_adapt_images_leaves_matching_sizes_and_keeps_leading_dims():
    frames = np.stack([gradient(48, 80)] * 6).reshape(2, 3, 48, 80, 3)
    assert adapt_images(frames, None) is frames or np.array_equal(adapt_images(frames, None), frames)
    assert np.array_equal(adapt_images(frames, (48, 80), "center_crop"), frames)
    assert adapt_images(frames, (32, 32), "center_crop").shape == (2, 3, 32, 32, 3)


@pytest.mark.parametrize("value, message", [
    ({"image_size": [64]}, "image_size must be"),
    ({"resize": "nearest"}, "resize must be one of"),
    ({"observation": "depth"}, "observation must be one of"),
    ({"action_dim": 0}, "action_dim must be a positive"),
    ({"colour": "rgb"}, "unknown inputs key"),
    ("64x64", "must be a mapping"),
])
def test_bad_declarations_are_one_config_error(value, message):
    with pytest.raises(ConfigError, match=message):
        ModelInputs.from_value(value, "model 'm'")


def test_factory_declaration_overrides_the_config_entry_by_entry():
    merged = declared_inputs({"observation": "image", "image_size": [64, 64], "action_dim": 7},
                             ModelInputs(action_dim=3), "model 'm'")
    assert merged == ModelInputs(observation="image", image_size=(64, 64), action_dim=3)
    assert declared_inputs(None, {"image_size": 96}, "m").image_size == (96, 96)
    assert ModelBundle("m").inputs == ModelInputs()


def test_a_factory_dict_adds_to_the_config_declaration():
    merged = declared_inputs({"observation": "image", "image_size": [64, 64], "resize": "center_crop"},
                             {"action_dim": 7}, "model 'm'")
    assert merged == ModelInputs(observation="image", image_size=(64, 64), resize="center_crop", action_dim=7)
