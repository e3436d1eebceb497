"""Bundled model implementations, one file each. Importing this package imports no model."""
