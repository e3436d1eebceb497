"""``python -m lawm_eval.data.generate RECIPE_JSON PATH ERROR_FILE``: one recipe's dataset, in a process of its own.

``recipes.generate_apart`` starts it; a user error's message is written to ERROR_FILE and the process exits
with 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lawm_eval.data.recipes import generate_here
from lawm_eval.errors import LawmEvalError


def main(argv: list[str]) -> int:
    recipe, path, error_file = json.loads(argv[0]), Path(argv[1]), Path(argv[2])
    try:
        generate_here(recipe, path)
    except LawmEvalError as exc:
        error_file.write_text("\n".join(getattr(exc, "lines", None) or [str(exc)]) + "\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
