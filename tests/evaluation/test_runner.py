"""``evaluate`` on small synthetic NAB-like directories: the output file contract, the report, and the
streaming protocol's no-look-ahead rule."""

import json

import numpy as np
import pandas as pd
import pytest

from anomaly.detectors import detector_names
from anomaly.evaluation import evaluate
from anomaly.evaluation.nab import rising_edges
from tests.conftest import tiny_config

# The seasonal naive detector scores nothing on these short series (no three days to learn a daily
# cycle from), so the checks would hold trivially; the ensemble carries it on real cycles, and
# tests/detectors/test_ensemble.py checks it on a daily stream.
DETECTORS = pytest.mark.parametrize(
    "detector", [name for name in detector_names() if name != "seasonal_naive"]
)
COLUMNS = ["timestamp", "value", "anomaly_score", "is_anomaly", "label"]


def _series(n, *, seed, spike_at=None):
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2026-01-01", periods=n, freq="10min")
    values = np.sin(np.arange(n) * 2 * np.pi / 36) + rng.normal(0, 0.05, n)
    if spike_at is not None:
        values[spike_at : spike_at + 3] += 5.0
    return pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "value": values})


@pytest.fixture
def corpus(tmp_path):
    """Two files: a clean one with a spike, and a dirty one with a duplicate timestamp and rows out of
    order; labels in NAB's format, one window per file plus a stream that is not in the data."""
    data = tmp_path / "data"
    (data / "dirty").mkdir(parents=True)
    clean = _series(300, seed=1, spike_at=240)
    clean.to_csv(data / "clean.csv", index=False)
    dirty = _series(280, seed=2, spike_at=200)
    dirty = pd.concat([dirty.iloc[:150], dirty.iloc[[100]], dirty.iloc[150:]], ignore_index=True)
    dirty.iloc[[60, 61]] = dirty.iloc[[61, 60]].to_numpy()
    dirty.to_csv(data / "dirty" / "d.csv", index=False)
    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps(
            {
                "clean.csv": [[clean.timestamp[235], clean.timestamp[250]]],
                "dirty/d.csv": [["2026-01-02 09:00:00", "2026-01-02 11:00:00"]],
                "absent.csv": [],
            }
        )
    )
    return data, labels, {"clean.csv": clean, "dirty/d.csv": dirty}


@DETECTORS
@pytest.mark.parametrize("protocol", ["offline", "streaming"])
def test_output_rows_match_the_input_rows_in_order(corpus, tmp_path, protocol, detector):
    data, labels, inputs = corpus
    out = tmp_path / "out"
    config = tiny_config(data, tmp_path).model_copy(update={"detector": detector})
    report = evaluate(data, labels, protocol, config, out)

    for name, frame in inputs.items():
        written = pd.read_csv(out / name)
        assert list(written.columns) == COLUMNS
        assert len(written) == len(frame)
        assert (written["timestamp"] == frame["timestamp"]).all()
        np.testing.assert_allclose(written["value"], frame["value"])
        assert written["anomaly_score"].between(0, 1).all()
        assert set(written["is_anomaly"]) <= {0, 1} and set(written["label"]) <= {0, 1}
        order = np.argsort(pd.to_datetime(written["timestamp"]).to_numpy(), kind="stable")
        above = (written["anomaly_score"] > 0.5).to_numpy()[order]
        onsets = rising_edges(above, quiet_rows=16)  # the window length of tiny_config
        alarms = written["is_anomaly"].to_numpy()[order].astype(bool)
        if protocol == "streaming":  # when the event can first be known: where the error crosses
            assert (alarms == onsets).all()
        else:  # at the event's localised start: inside the stretch above the threshold, one per event
            assert above[alarms].all() and alarms.sum() == onsets.sum()
    clean = pd.read_csv(out / "clean.csv")
    assert clean["label"].sum() == 16 and clean["label"].iloc[235:251].all()
    assert clean["anomaly_score"].iloc[240:243].max() > clean["anomaly_score"].iloc[:200].median()
    if protocol == "streaming":
        assert (clean["anomaly_score"].iloc[:45] == 0).all()  # probationary rows are never scored

    assert [file.name for file in report.files] == ["clean.csv", "dirty/d.csv"]
    assert all(file.error is None for file in report.files)
    assert report.failures == {"absent.csv": "labelled but not in the data"}
    assert set(report.nab) == set(report.nab_optimised) == {"standard", "reward_low_FP", "reward_low_FN"}
    assert report.nab_optimised["standard"].score.raw >= report.nab["standard"].raw
    assert "TOTAL" in report.to_text() and "anomaly_score rises to" in report.to_text()
    assert json.loads(report.to_json())["total"]["events"]["windows"] == 2
    vus = [file.vus_pr for file in report.files]
    assert all(0 < value <= 1 for value in vus) and report.vus_pr == pytest.approx(np.mean(vus))
    assert json.loads(report.to_json())["files"][0]["vus_pr"] == vus[0]
    assert "VUS-PR" in report.to_text().splitlines()[1]


@DETECTORS
def test_streaming_scores_never_look_ahead(tmp_path, detector):
    t = 200
    before = _series(320, seed=3)
    after = before.copy()
    after.loc[t + 1 :, "value"] = after.loc[t + 1 :, "value"] * 3 + 10
    runs = []
    for name, frame in (("before", before), ("after", after)):
        data = tmp_path / name
        data.mkdir()
        frame.to_csv(data / "s.csv", index=False)
        labels = tmp_path / f"{name}.json"
        labels.write_text("{}")
        config = tiny_config(data, tmp_path).model_copy(update={"detector": detector})
        evaluate(data, labels, "streaming", config, tmp_path / f"out-{name}")
        runs.append(pd.read_csv(tmp_path / f"out-{name}" / "s.csv"))
    np.testing.assert_allclose(
        runs[0]["anomaly_score"][: t + 1], runs[1]["anomaly_score"][: t + 1], rtol=0, atol=1e-6
    )
    assert (runs[0]["is_anomaly"][: t + 1] == runs[1]["is_anomaly"][: t + 1]).all()
    assert not np.allclose(runs[0]["anomaly_score"][t + 1 :], runs[1]["anomaly_score"][t + 1 :])


def test_a_stream_too_short_to_fit_is_reported_and_scored_zero(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _series(10, seed=4).to_csv(data / "short.csv", index=False)
    labels = tmp_path / "labels.json"
    labels.write_text("{}")
    report = evaluate(data, labels, "offline", tiny_config(data, tmp_path), tmp_path / "out")
    assert "fewer than the window length" in report.files[0].error
    assert (pd.read_csv(tmp_path / "out" / "short.csv")["anomaly_score"] == 0).all()
