"""The simulator child's environment: OpenBLAS runs one kernel family on every AVX2 x86-64 CPU, so a seed
gives the same rollout on any such machine (tests/test_vp2_robodesk_sim.py regenerates the shipped pairs)."""

from __future__ import annotations

import platform

import pytest

from lawm_eval.envs import sim_client


@pytest.fixture
def cpuinfo(tmp_path):
    def write(flags: str):
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nmodel name\t: some cpu\nflags\t\t: fpu sse2 {flags}\n\nprocessor\t: 1\n")
        return path

    return write


def test_an_avx2_x86_cpu_gets_the_pinned_kernel(cpuinfo, monkeypatch):
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    assert sim_client.pinned_blas_env(cpuinfo("avx avx2 fma avx512f")) == {"OPENBLAS_CORETYPE": "Haswell"}
    assert sim_client.pinned_blas_env(cpuinfo("avx avx2 fma")) == {"OPENBLAS_CORETYPE": "Haswell"}


def test_a_cpu_without_avx2_or_another_architecture_keeps_openblass_choice(cpuinfo, monkeypatch, tmp_path):
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    assert sim_client.pinned_blas_env(cpuinfo("avx fma")) == {}  # forcing Haswell there would be an illegal instruction
    assert sim_client.pinned_blas_env(tmp_path / "no-such-file") == {}
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    assert sim_client.pinned_blas_env(cpuinfo("avx avx2 fma")) == {}


def test_the_child_process_gets_the_pin_and_the_callers_env_wins(monkeypatch):
    seen = {}

    class FakePopen:
        def __init__(self, args, env, **kwargs):
            seen.update(env)
            raise OSError("not started")

    monkeypatch.setattr(sim_client, "pinned_blas_env", lambda: {"OPENBLAS_CORETYPE": "Haswell", "PIN": "1"})
    monkeypatch.setattr(sim_client.subprocess, "Popen", FakePopen)
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    with pytest.raises(OSError):
        sim_client.SimProcess("robodesk", "python", "m:B", env={"PIN": "caller"})
    assert seen["OPENBLAS_CORETYPE"] == "Haswell" and seen["PIN"] == "caller"
