"""lawm-eval: one harness for evaluating latent-action world models and world-action policies.

Importing the package is cheap: no simulator, Ray, Hydra or torch import happens here.
"""

from lawm_eval._version import __version__
from lawm_eval.errors import LawmEvalError

__all__ = ["__version__", "LawmEvalError"]
