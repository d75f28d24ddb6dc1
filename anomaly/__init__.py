"""anomaly: per-stream anomaly detection for sensor series, stored in SQL.

Data flows one way, and each package has one role in it:

- ``data``: sources to regular, gap-free prepared series (and labels files); ``windowing``, ``scaling``.
- ``detectors``: the detector contract and the detectors (LSTM autoencoder, rolling z-score), composed
  of ``model`` (training set, trainers, network, residuals), ``scoring`` (the window scorer) and
  ``thresholds`` (one method per module).
- ``decisions``: the one path from window errors to events and alarms (with ``events``); ``analysis``:
  one run's results for one stream (with ``embeddings``), as the plain records of ``results``.
- ``retrain``: when a stream needs a new model version.
- ``storage``: the database (schema, migrations, reads and the transactional writer); only it and the
  CLI touch the database.
- ``evaluation``: ``anomaly evaluate`` (protocols, NAB score, event metrics) for any detector.
- ``config`` (the one validated configuration), ``errors`` (what a user can act on), ``cli``.

Importing the package loads nothing heavy: import what you use from its modules, e.g.
``from anomaly.detectors import detector_for``.
"""

__all__ = [
    "analysis",
    "config",
    "data",
    "decisions",
    "detectors",
    "errors",
    "evaluation",
    "events",
    "model",
    "results",
    "retrain",
    "scoring",
    "storage",
    "thresholds",
]
