"""Threshold methods that need more than a line of statistics; ``anomaly.thresholds`` picks one.

- ``spot``: extreme value theory, a generalised Pareto tail extrapolated to a chosen risk level.
- ``dynamic``: telemanom's nonparametric threshold, and the pruning of events it is paired with.
- ``label_tuned``: the threshold with the best event-level F1 on labelled windows of the fitted rows.
"""
