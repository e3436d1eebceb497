"""Every command-line entry point's bad argument is one line on stderr and exit 2 (``OneLineParser``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lawm_eval.errors import OneLineParser

REPO = Path(__file__).resolve().parent.parent


def test_a_bad_argument_is_one_line_and_exit_2(capsys):
    parser = OneLineParser(prog="tool")
    parser.add_argument("--steps", type=int)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--steps", "many"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == ["tool: error: argument --steps: invalid int value: 'many' (see --help)"]


def test_help_still_prints_the_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        OneLineParser(prog="tool").parse_args(["--help"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("usage: tool")


def test_no_entry_point_builds_a_plain_argparse_parser():
    sources = [*REPO.joinpath("lawm_eval").rglob("*.py"), *REPO.joinpath("scripts").glob("*.py")]
    plain = [str(path.relative_to(REPO)) for path in sources if "argparse.ArgumentParser(" in path.read_text()]
    assert plain == []
