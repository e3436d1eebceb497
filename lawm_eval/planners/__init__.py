"""Sampling-based planners over action sequences, batched over candidates.

Planners are stateless: ``plan(objective, generator, init_mean)`` returns a PlanResult and the
suite keeps the unexecuted rest of the plan to warm-start the next call (as VP²'s agent does).
``common.SamplingPlanner`` holds what they share (the options horizon, init_std, action_low/high,
the action box); ``cem``, ``mppi`` and ``random_shooting`` (``random`` and ``random_shooting``)
add their own options and ``plan``.
"""
