"""Peak memory of one process training many tiny models, the way a 1,000-stream run does.

Run as a script it fits ``--models`` tiny detectors one after another in this process and prints
one JSON line with the peak RSS after ``--checkpoint`` models and at the end; ``peak_rss_mb`` runs
it in a fresh interpreter, so the benchmark's own memory does not count.

    .venv/bin/python benchmarks/perf/memory.py --models 1000 --checkpoint 100
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

# As small as a detector gets (window 8, 4 units, one epoch on 200 rows): the step measures how memory
# grows with the number of models a process has trained, not their speed, so each should cost little.
TINY_ROWS = 200
TINY_CONFIG = {
    "source": {"path": "."},
    "window": {"length": 8, "train_stride": 4},
    "model": {"units": 4, "epochs": 1, "batch_size": 64, "patience": 1},
    "embeddings": {"max_clusters": 2},
}


def peak_rss_mb(n_models: int, checkpoint: int) -> dict[str, float]:
    """{'checkpoint': MB after ``checkpoint`` models, 'end': MB after ``n_models``}, from a subprocess."""
    completed = subprocess.run(
        [sys.executable, str(Path(__file__)), "--models", str(n_models), "--checkpoint", str(checkpoint)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, required=True)
    parser.add_argument("--checkpoint", type=int, required=True)
    args = parser.parse_args()
    from anomaly.config import config_from_dict
    from anomaly.detectors.lstm_autoencoder import LSTMAutoencoderDetector
    from perf.streams import synthetic_stream

    config = config_from_dict(TINY_CONFIG)
    at_checkpoint = 0.0
    for model in range(args.models):
        stream = synthetic_stream(f"tiny{model}", TINY_ROWS, seed=model, anomalies=False).stream
        LSTMAutoencoderDetector.from_config(config).fit(stream)
        if model + 1 == args.checkpoint:
            at_checkpoint = _rss_mb()
    print(json.dumps({"checkpoint": at_checkpoint, "end": _rss_mb()}))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
