"""The performance suite: our training, scoring, many-stream training, database writes and memory,
measured in one run beside the article's model as written (the reference), on this machine.

    .venv/bin/python benchmarks/run.py            # full sizes (under 15 minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # tiny sizes, same code paths and keys (CI smoke test)

Prints a table as it goes (to stderr) and, as its last line, one JSON object with every figure.
Timings on a shared machine vary two- to four-fold; ratios are only meaningful within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import db_writes
from perf import many, memory, scoring, training
from perf.flops import matmul_gflops
from perf.streams import synthetic_stream

from anomaly.config import PipelineConfig, config_from_dict

# A candidate configuration for fast training, measured beside the default (which this suite does
# not choose: docs/quality.md does, on detection quality).
FAST_MODEL = {"units": 32, "epochs": 15, "patience": 5, "batch_size": 128}
FAST_WINDOW = {"length": 48, "train_stride": 8}


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is."""

    rows: int
    reference_epochs: int
    many_streams: int
    many_rows: int
    many_epochs: int
    tiny_models: int
    tiny_checkpoint: int
    db_rows: int


# The many-streams step keeps 32 streams of the default architecture but 2,500 rows each (about 490
# training windows, 8 batches an epoch): per-step overhead, which it is about, is the same per batch, and
# both sides at 5,000 rows took 7.5 of the 15 minutes the suite has on 2 shared cores.
FULL = Sizes(5000, 10, 32, 2500, 5, 1000, 100, 100_000)
QUICK = Sizes(600, 2, 4, 600, 2, 20, 10, 3000)


def _config(**sections: dict) -> PipelineConfig:
    return config_from_dict({"source": {"path": "."}, **sections})


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(sizes: Sizes) -> dict[str, object]:
    """Every measurement at ``sizes``; the figures as one flat dictionary."""
    result: dict[str, object] = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    started = time.perf_counter()
    rates = matmul_gflops()
    bound = max(rates.values())
    result.update(
        matmul_gflops_numpy=round(rates["numpy"], 1), matmul_gflops_tf=round(rates["tensorflow"], 1)
    )
    _say(f"matmul float32 2048^2: numpy {rates['numpy']:.0f} GFLOP/s, tensorflow {rates['tensorflow']:.0f}")

    data = synthetic_stream("bench", sizes.rows, seed=7)
    reference = training.train_reference(data, epochs=sizes.reference_epochs)
    default = _config()
    ours, detector = training.train_ours(data, default)
    fast, _ = training.train_ours(data, _config(model=FAST_MODEL, window=FAST_WINDOW))
    result.update(
        train_seconds_reference=round(reference.seconds, 2),
        train_seconds_ours=round(ours.seconds, 2),
        train_speedup=round(reference.seconds / ours.seconds, 2),
        f1_ours=round(ours.f1, 3),
        f1_reference=round(reference.f1, 3),
        epochs_trained_ours=detector.epochs_trained_,
        train_seconds_fast=round(fast.seconds, 2),
        train_speedup_fast=round(reference.seconds / fast.seconds, 2),
        f1_fast=round(fast.f1, 3),
        fast_config={"model": FAST_MODEL, "window": FAST_WINDOW},
    )
    _say(
        f"train {sizes.rows} rows: reference {reference.seconds:.1f} s (F1 {reference.f1:.2f}), "
        f"ours {ours.seconds:.1f} s (F1 {ours.f1:.2f}, {detector.epochs_trained_} epochs) -> "
        f"{reference.seconds / ours.seconds:.1f}x; fast config {fast.seconds:.1f} s (F1 {fast.f1:.2f})"
    )

    windows_per_s = scoring.score_windows_per_s(detector, data)
    flops = scoring.flops_per_window(detector)
    result.update(
        score_windows_per_s=round(windows_per_s),
        flops_per_window=flops,
        score_flop_fraction=round(windows_per_s * flops / (bound * 1e9), 3),
        score_flop_fraction_numpy=round(windows_per_s * flops / (rates["numpy"] * 1e9), 3),
    )
    _say(
        f"score: {windows_per_s:,.0f} windows/s x {flops / 1e6:.2f} MFLOP = "
        f"{windows_per_s * flops / 1e9:.1f} GFLOP/s, {result['score_flop_fraction']:.0%} of the matmul rate"
    )

    # The fleet path trains reconstruction models; both sides use that variant.
    many_model = {"epochs": sizes.many_epochs, "variant": "reconstruction"}
    many_config = _config(model=many_model)
    streams = many.measure(sizes.many_streams, sizes.many_rows, many_config)
    result.update(
        many_streams_sequential_seconds=round(streams.sequential_seconds, 2),
        many_streams_fleet_seconds=round(streams.fleet_seconds, 2),
        many_streams_speedup=round(streams.sequential_seconds / streams.fleet_seconds, 2),
        many_streams_val_loss_ratio=round(streams.val_loss_ratio, 3),
        many_streams_config={"model": many_model},
    )
    _say(
        f"{sizes.many_streams} streams x {sizes.many_rows} rows: one at a time "
        f"{streams.sequential_seconds:.1f} s, together {streams.fleet_seconds:.1f} s -> "
        f"{result['many_streams_speedup']}x (median val-loss ratio {streams.val_loss_ratio:.3f})"
    )

    db = db_writes.measure(sizes.db_rows)
    result.update({key: value for key, value in db.items() if key != "rows"}, db_rows=sizes.db_rows)

    rss = memory.peak_rss_mb(sizes.tiny_models, sizes.tiny_checkpoint)
    result.update(
        peak_rss_mb_100_models=round(rss["checkpoint"], 1),
        peak_rss_mb_1000_models=round(rss["end"], 1),
        tiny_models=sizes.tiny_models,
        tiny_checkpoint=sizes.tiny_checkpoint,
    )
    _say(
        f"peak RSS: {rss['checkpoint']:.0f} MB after {sizes.tiny_checkpoint} tiny models, "
        f"{rss['end']:.0f} MB after {sizes.tiny_models}"
    )
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of every code path")
    args = parser.parse_args()
    print(json.dumps(run(QUICK if args.quick else FULL)))


if __name__ == "__main__":
    main()
