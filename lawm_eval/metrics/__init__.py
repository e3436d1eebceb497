"""Metrics: a functional form and a Metric class with fixed-size, mergeable state for each."""
