"""A tiny world model (tinywm.lawm) and LIBERO policy (tinywm.policy) for lawm-eval."""
