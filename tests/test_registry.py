from __future__ import annotations

import sys
import textwrap

import pytest

from lawm_eval.errors import LawmEvalError, MissingDependencyError, UnknownNameError
from lawm_eval.registry import Registry, import_target, plugin_entry_points


def test_lazy_target_is_imported_only_on_get(tmp_path, monkeypatch):
    (tmp_path / "lazy_mod_for_test.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry("thing")
    reg.register("answer", "lazy_mod_for_test:VALUE", description="the answer")
    assert "lazy_mod_for_test" not in sys.modules
    assert reg.names() == ["answer"]
    assert reg.get("answer") == 42
    assert "lazy_mod_for_test" in sys.modules


def test_decorator_registration_and_duplicates():
    reg = Registry("model")

    @reg.register("tiny", description="a tiny model")
    def build_tiny():
        return "built"

    assert reg.get("tiny") is build_tiny
    with pytest.raises(LawmEvalError, match="registered twice"):
        reg.register("tiny", build_tiny)
    reg.register("tiny", "math:pi", overwrite=True)
    assert reg.get("tiny") == pytest.approx(3.14159, rel=1e-5)


def test_unknown_name_suggests_the_closest():
    reg = Registry("suite")
    for name in ("libero_spatial", "libero_object", "point_mass"):
        reg.register(name, object())
    with pytest.raises(UnknownNameError) as info:
        reg.get("libero_spatail")
    assert str(info.value) == "unknown suite 'libero_spatail'; did you mean 'libero_spatial'?"
    with pytest.raises(UnknownNameError, match="choose one of: libero_object, libero_spatial, point_mass"):
        reg.get("zzz")


def test_missing_module_of_an_extra_names_the_pip_command():
    reg = Registry("executor")
    reg.register("fancy", "surely_not_installed_mod_xyz.sub:Thing", extra="ray")
    with pytest.raises(MissingDependencyError) as info:
        reg.get("fancy")
    assert 'pip install "lawm-eval[ray]"' in str(info.value)


def test_bad_target_strings():
    with pytest.raises(LawmEvalError, match="expected 'package.module:attr'"):
        import_target("no_colon_here")
    with pytest.raises(LawmEvalError, match="has no attribute"):
        import_target("math:not_there")


def make_plugin(tmp_path, entry_points: str):
    dist = tmp_path / "lawm_plugin_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lawm-plugin-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    return tmp_path


def test_plugins_come_from_entry_points(tmp_path, monkeypatch):
    (tmp_path / "lawm_plugin_demo.py").write_text(textwrap.dedent("""
        def build(suite=None, scale=1.0):
            return {"scale": scale}
    """))
    make_plugin(tmp_path, """
        [lawm_eval.plugins]
        model.demo_wm = lawm_plugin_demo:build
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    found = [p for p in plugin_entry_points() if p[1] == "demo_wm"]
    assert found == [("model", "demo_wm", "lawm_plugin_demo:build", "lawm-plugin-demo")]

    from lawm_eval import catalog

    catalog.registries.cache_clear()
    try:
        models = catalog.registries()["model"]
        assert "demo_wm" in models
        assert models.entry("demo_wm").source == "lawm-plugin-demo"
        assert models.get("demo_wm")(scale=2.0) == {"scale": 2.0}
    finally:
        catalog.registries.cache_clear()


def test_badly_named_plugin_is_a_clear_error(tmp_path, monkeypatch):
    make_plugin(tmp_path, """
        [lawm_eval.plugins]
        wrongkind = lawm_plugin_demo:build
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(LawmEvalError, match="must be named '<kind>.<name>'"):
        plugin_entry_points()
