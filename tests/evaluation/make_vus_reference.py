"""Writes ``vus_reference.json``: VUS-PR and sliding windows by the reference code, for ``test_vus.py``.

Not a test and not run by one: it needs the reference packages, which clash with this project's
dependencies (``vus`` requires full TensorFlow), so run it in a throwaway environment:

    python3 -m venv /tmp/vusref
    /tmp/vusref/bin/pip install numpy scikit-learn pandas tqdm statsmodels
    /tmp/vusref/bin/pip install --no-deps TSB-AD==1.5 vus==0.0.6
    /tmp/vusref/bin/python tests/evaluation/make_vus_reference.py

Scores are stored as integers (thousandths) and labels as ranges so that the file stays small and the
series are exactly what the reference saw.
"""

import json
from pathlib import Path

import numpy as np
from TSB_AD.evaluation.basic_metrics import basic_metricor
from TSB_AD.utils.slidingWindows import find_length_rank
from vus.utils.metrics import metricor

OUT = Path(__file__).with_name("vus_reference.json")


def _labels(n_rows: int, ranges: list[tuple[int, int]]) -> np.ndarray:
    labels = np.zeros(n_rows, dtype=int)
    for first, last in ranges:
        labels[first : last + 1] = 1
    return labels


def _cases(rng: np.random.Generator) -> list[dict]:
    """Random scores, tied scores, a score beside the anomaly, many short ranges close together (whose
    buffers merge), ranges at both ends, fewer rows than thresholds, odd and zero buffers."""
    specs = [
        (400, [(50, 69), (200, 202), (330, 359)], 40, "random"),
        (300, [(0, 4), (60, 75), (150, 150), (220, 239), (280, 285)], 25, "tied"),
        (250, [(100, 119)], 30, "beside"),
        (200, [(20, 21), (25, 27), (31, 31), (60, 64), (70, 71), (150, 152)], 60, "random"),
        (500, [(120, 160), (480, 499)], 0, "random"),
        (600, [(10, 30), (300, 301), (305, 320), (580, 599)], 37, "cubed"),
    ]
    cases = []
    for n_rows, ranges, max_buffer, kind in specs:
        labels = _labels(n_rows, ranges)
        if kind == "tied":
            scores = np.round(rng.random(n_rows), 1)
        elif kind == "beside":
            scores = np.roll(labels.astype(float), -6) * 0.9 + 0.05 * rng.random(n_rows)
        elif kind == "cubed":
            scores = rng.random(n_rows) ** 3
        else:
            scores = 0.6 * rng.random(n_rows) + 0.4 * labels * rng.random(n_rows)
        thousandths = np.round(scores * 1000).astype(int)
        scores = thousandths / 1000
        tsb_ad = basic_metricor().RangeAUC_volume_opt(labels, scores, max_buffer, thre=250)[-1]
        vus = metricor().RangeAUC_volume_opt(labels, scores, max_buffer, thre=250)[-1]
        assert abs(tsb_ad - vus) < 1e-12
        cases.append(
            {
                "rows": n_rows,
                "ranges": ranges,
                "max_buffer": max_buffer,
                "score_thousandths": thousandths.tolist(),
                "vus_pr": tsb_ad,
            }
        )
    return cases


def _windows(rng: np.random.Generator) -> list[dict]:
    """Noisy sines of a few periods, one series without a period, one too short to have one."""
    series = [
        np.sin(np.arange(700) * 2 * np.pi / period) + 0.3 * rng.standard_normal(700) for period in (24, 97)
    ]
    series += [rng.standard_normal(500), np.sin(np.arange(900) * 2 * np.pi / 350), np.arange(5.0)]
    windows = []
    for values in series:
        hundredths = np.round(values * 100).astype(int)
        windows.append(
            {
                "value_hundredths": hundredths.tolist(),
                "window": int(find_length_rank(hundredths / 100, rank=1)),
            }
        )
    return windows


def main() -> None:
    rng = np.random.default_rng(2022)
    reference = {
        "source": "TSB-AD 1.5 basic_metricor.RangeAUC_volume_opt (thre=250; vus 0.0.6 metricor agrees to "
        "1e-12) and TSB-AD 1.5 find_length_rank(rank=1); made by make_vus_reference.py",
        "vus_pr": _cases(rng),
        "sliding_window": _windows(rng),
    }
    OUT.write_text(json.dumps(reference, separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
