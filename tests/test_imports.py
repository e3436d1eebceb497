"""`import lawm_eval` and `lawm-eval ls` must import no simulator, Ray, Hydra or torch."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["robosuite", "libero", "mujoco", "robodesk", "dm_control", "sapien", "ray", "hydra", "omegaconf",
         "torch", "pandas", "matplotlib", "lpips", "torchvision"]

PROBE = """
import json, sys
{code}
heavy = {heavy!r}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set(heavy))))
"""


def loaded_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(code=code, heavy=HEAVY)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_lawm_eval_is_light():
    assert loaded_after("import lawm_eval, lawm_eval.interfaces, lawm_eval.types, lawm_eval.registry") == []


def test_ls_is_light():
    code = "from lawm_eval.cli import main\nassert main(['ls']) == 0"
    assert loaded_after(code) == []


def test_the_probe_would_notice_a_heavy_import():
    assert loaded_after("import torch") == ["torch"]
