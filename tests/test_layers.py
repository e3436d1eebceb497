"""The import graph of lawm_eval reads as floors, with no arrow back up:
cli → report → runner / catalog / config → suites / planners → models / metrics / envs / data → core."""

from __future__ import annotations

import ast
from pathlib import Path

import lawm_eval

ROOT = Path(lawm_eval.__file__).parent
CORE = ("_version", "errors", "paths", "types", "util", "extras", "registry", "interfaces", "inputs", "bundle", "assets",
        "safe_pickle", "rollouts", "__init__", "__main__")
FLOORS = {
    **{name: 0 for name in CORE},
    "models": 1, "metrics": 1, "envs": 1, "data": 1,
    "suites": 2, "planners": 2,
    "runner": 3, "catalog": 3, "config": 3,
    "report": 4,
    "cli": 5,
}


def imported_modules(source: str, package: str = "lawm_eval") -> list[tuple[int, str]]:
    """(line, module) of every import; ``from lawm_eval import x`` counts as ``lawm_eval.x`` and
    relative imports are resolved against ``package`` (the importing module's package)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            if base == "lawm_eval":
                found += [(node.lineno, f"lawm_eval.{alias.name}") for alias in node.names]
            elif base:
                found.append((node.lineno, base))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def package_of(path: Path) -> str:
    parts = ("lawm_eval", *path.relative_to(ROOT).parts)
    return ".".join(parts[:-1])


def upward_imports(sources: dict[Path, str]) -> list[str]:
    """'file:line imports module' for every import of a lawm_eval module on a higher floor."""
    found = []
    for path, source in sources.items():
        name = path.relative_to(ROOT).parts[0].removesuffix(".py")
        for line, module in imported_modules(source, package_of(path)):
            parts = module.split(".")
            if parts[0] != "lawm_eval" or len(parts) < 2 or parts[1] == name:
                continue
            if FLOORS[parts[1]] > FLOORS[name]:
                found.append(f"{path.relative_to(ROOT)}:{line} (floor {FLOORS[name]}) imports {module} "
                             f"(floor {FLOORS[parts[1]]})")
    return found


def sources() -> dict[Path, str]:
    return {path: path.read_text() for path in sorted(ROOT.rglob("*.py"))}


def test_every_module_has_a_floor():
    names = {p.name.removesuffix(".py") for p in ROOT.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert names <= set(FLOORS), f"modules without a floor: {sorted(names - set(FLOORS))}"


def test_no_import_points_up_a_floor():
    assert upward_imports(sources()) == []


def test_the_check_finds_an_upward_import():
    files = sources()
    errors = ROOT / "errors.py"
    files[errors] += "\n\ndef f():\n    from lawm_eval.runner.run import run_evaluation\n"
    (found,) = upward_imports(files)
    assert found.startswith("errors.py:") and "imports lawm_eval.runner.run (floor 3)" in found
    files[errors] = sources()[errors] + "\nfrom lawm_eval import report\n"
    (found,) = upward_imports(files)
    assert "imports lawm_eval.report (floor 4)" in found
    metrics_base = ROOT / "metrics" / "base.py"
    files = sources()
    files[metrics_base] += "\nfrom ..suites import base\n"
    (found,) = upward_imports(files)
    assert found.startswith("metrics/base.py:") and "imports lawm_eval.suites (floor 2)" in found
