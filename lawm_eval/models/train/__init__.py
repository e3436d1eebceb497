"""Training scripts for the bundled tiny models (``python -m lawm_eval.models.train <name>``)."""
