"""The bundled sample pipeline, run as a user would, finds the labelled anomalies."""

from __future__ import annotations

from sqlalchemy import select

from anomaly.data.labels import load_labels
from anomaly.evaluation.metrics import event_scores
from anomaly.storage.database import open_engine
from anomaly.storage.schema import Anomaly, Run, Stream
from tests.conftest import ROOT


def test_sample_run_recovers_labelled_events_with_high_precision(sample_run_db):
    labels = load_labels(ROOT / "sample_data" / "labels.json")
    engine = open_engine(sample_run_db)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Stream.name, Anomaly.start_ts, Anomaly.end_ts).join(Stream, Stream.id == Anomaly.stream_id)
        ).all()
        run = connection.execute(select(Run)).one()
    engine.dispose()
    detected: dict = {}
    for name, start, end in rows:
        detected.setdefault(name, []).append((start, end))
    scores = event_scores(detected, labels)
    print(f"sample run: event precision {scores.precision:.3f}, recall {scores.recall:.3f}")
    assert run.status == "succeeded" and run.n_streams == 7
    assert set(detected) <= set(labels)
    # With the library defaults (the ensemble of the LSTM autoencoder, the seasonal naive and the
    # noise-level detectors, events merged within six windows) the run finds all 12 labelled events
    # with one false one: see docs/quality.md.
    assert scores.recall >= 0.9, scores
    assert scores.precision >= 0.8, scores
