"""Import one of the repository's scripts/ (they are not a package) as a module, for their tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load_script(name: str):
    """``scripts/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exit_2_stderr(script, argv: list[str], monkeypatch, capsys) -> list[str]:
    """Run ``script``'s main with ``argv``; it must exit with code 2. Returns the lines it wrote to stderr."""
    import pytest

    monkeypatch.setattr("sys.argv", [f"{script.__name__}.py", *argv])
    with pytest.raises(SystemExit) as exit_info:
        script.main()
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()


def franka_fixture_windows():
    """The committed Franka fixture's 8 windows of 3 transitions, encoded by the shared autoencoder."""
    import torch

    from lawm_eval.models.train.data import windows
    from lawm_eval.models.train.evaluate import load_fixture
    from lawm_eval.models.zoo import load_autoencoder

    fixture = load_fixture("franka")
    with torch.no_grad():
        xs = list(load_autoencoder().encode(torch.from_numpy(fixture["frames"])))  # 8 × (4, 16, 32)
    actions = [torch.from_numpy(a).float() for a in fixture["actions"]]  # 8 × (3, 7)
    return windows(xs, actions, [torch.zeros(len(x), 1) for x in xs], [0] * len(xs), "franka", window=3)
