"""Sampling-based planners over action sequences, batched over candidates.

Planners are stateless: ``plan(objective, generator, init_mean)`` returns a PlanResult and the
suite keeps the unexecuted rest of the plan to warm-start the next call (as VP²'s agent does).
"""
