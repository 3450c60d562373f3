"""The roles served without a model: the rule router and the offline drafter.

`daemon.app` chooses them when no `[models.*]` endpoint is configured; the LLM router and
drafter fall back to them on any failure. Each implements its Protocol of `daemon.kernel.stage`.
"""
