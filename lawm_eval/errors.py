"""User-facing errors. The CLI prints any LawmEvalError as one line and exits with code 2."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable


class OneLineParser(argparse.ArgumentParser):
    """The scripts' argument parser: a bad argument is one line on stderr and exit 2, like every other user error
    (argparse's own prints its usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class LawmEvalError(Exception):
    """An error caused by input the user can fix (names, configs, files, models)."""


class ConfigError(LawmEvalError):
    """A bad config value, override or combination of choices."""


class UnknownNameError(ConfigError):
    """A suite, model, planner, metric or executor name that is not registered."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]):
        self.kind, self.name, self.choices = kind, name, sorted(choices)
        super().__init__(f"unknown {kind} '{name}'{did_you_mean(name, self.choices)}")


class MissingDependencyError(LawmEvalError):
    """An optional extra (simulator, metric backend, Ray) is not installed."""

    def __init__(self, what: str, extra: str, module: str | None = None, or_else: str = ""):
        self.extra = extra
        self.pip_command = f'pip install "lawm-eval[{extra}]"'
        missing = f" (module '{module}' not found)" if module else ""
        alternative = f" ({or_else})" if or_else else ""
        super().__init__(f"{what} needs the '{extra}' extra{missing}: {self.pip_command}{alternative}")


class AssetError(LawmEvalError):
    """A required asset (scene files, metric weights, dataset) is missing or corrupt."""


class BlockedError(LawmEvalError):
    """Several independent pieces a suite needs are missing: one line each, each with its fix."""

    def __init__(self, lines: list[str]):
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


class TransientError(LawmEvalError):
    """A failure outside the episode's own logic that may pass (a policy server that went away): the
    runner runs the episode again from its start, a few times, before recording it as an error."""


class CheckpointError(LawmEvalError):
    """A checkpoint that cannot be read or does not match its model."""


class ModelError(LawmEvalError):
    """A model that lacks a part a suite needs, returns a wrong shape, or returns NaNs."""


class DataError(LawmEvalError):
    """A dataset or data file that cannot be read, or that could run code if it were read."""


class RecordsError(LawmEvalError):
    """A run directory whose records cannot be trusted (corrupt line, config mismatch)."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the closest choice, or the list of choices when none is close."""
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if close:
        return f"; did you mean '{close[0]}'?"
    if choices:
        shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
        return f"; choose one of: {shown}"
    return ""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, or its type name when it has none."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def one_line(exc: BaseException) -> str:
    """An exception as one line: a LawmEvalError's message as is, anything else with its type."""
    line = first_line(exc)
    if isinstance(exc, LawmEvalError) or line == type(exc).__name__:
        return line
    return f"{type(exc).__name__}: {line}"
