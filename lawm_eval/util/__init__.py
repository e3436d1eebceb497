"""Small helpers every layer may use (seeding, progress bars, hashing, video files); they import
nothing from lawm_eval above ``errors``."""
