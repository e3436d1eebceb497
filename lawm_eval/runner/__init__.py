"""Running episodes: building parts, executors, records and resume."""
