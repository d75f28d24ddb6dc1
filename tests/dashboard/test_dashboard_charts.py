"""Figure builders and the window error split, on small hand-made inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard import charts, explain


def test_stream_figure_has_series_error_threshold_steps_and_shading() -> None:
    ts = pd.date_range("2024-01-01", periods=6, freq="h", tz="UTC")
    points = pd.DataFrame({"ts": ts, "a": range(6), "b": range(6), "error": [0.1] * 6})
    events = pd.DataFrame({"id": [7], "start_ts": [ts[1]], "end_ts": [ts[2]], "peak_ts": [ts[2]],
                           "peak_error": [3.0], "severity": [2.5]})
    thresholds = pd.DataFrame({"version": [1, 2], "threshold": [0.8, 1.2],
                               "start_ts": [ts[0], ts[3]], "end_ts": [ts[2], ts[5]]})
    figure = charts.stream_figure(points, ["a", "b"], events, thresholds)
    names = [trace.name for trace in figure.data]
    assert names == ["a", "b", "error", "threshold", "anomaly peak"]
    threshold = figure.data[3]
    assert threshold.line.shape == "hv"
    assert list(threshold.y) == [0.8, 1.2, 1.2]
    assert len(figure.layout.shapes) == 2, "the event is shaded in both panels"
    assert figure.layout.xaxis.matches == "x2", "values and error share one time axis"


def test_stream_figure_without_events_or_thresholds() -> None:
    points = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=3, tz="UTC"), "v": [1, 2, 3],
                           "error": [0, 0, 0]})
    empty = pd.DataFrame(columns=["id", "start_ts", "end_ts", "peak_ts", "peak_error", "severity"])
    figure = charts.stream_figure(points, ["v"], empty, pd.DataFrame(columns=["version", "threshold"]))
    assert [trace.name for trace in figure.data] == ["v", "error"]


def test_window_error_splits_error_over_time_and_channels() -> None:
    reconstruction = np.zeros((4, 2))
    actual = np.zeros((4, 2))
    actual[2, 1] = 10.0
    actual[1, 0] = 1.0
    error = explain.window_error(actual, reconstruction, scales=np.array([1.0, 10.0]))
    np.testing.assert_allclose(error.per_timestep, [0, 0.5, 0.5, 0])
    np.testing.assert_allclose(error.channel_share, [0.5, 0.5])
    assert explain.window_error(actual, actual, np.ones(2)).channel_share == pytest.approx([0.5, 0.5])


def test_window_and_share_figures() -> None:
    ts = list(pd.date_range("2024-01-01", periods=4, freq="min", tz="UTC"))
    actual = np.arange(12, dtype=float).reshape(4, 3)
    figure = charts.window_figure(ts, actual, actual * 0.9, np.ones(4), ["p", "f", "v"])
    assert len(figure.data) == 3 * 2 + 1
    assert [trace.name for trace in figure.data[:2]] == ["actual", "reconstruction"]
    share = charts.channel_share_figure(["p", "f", "v"], np.array([0.2, 0.3, 0.5]))
    assert list(share.data[0].x) == pytest.approx([20, 30, 50])


def test_embedding_figure_colours_clusters_and_rings_flagged_windows() -> None:
    windows = pd.DataFrame({
        "stream": ["s1", "s1", "s2", "s2"], "start_ts": pd.date_range("2024-01-01", periods=4, tz="UTC"),
        "cluster": [0, 0, 1, 1], "x": [0.0, 1, 2, 3], "y": [0.0, 1, 2, 3],
        "is_anomaly": [False, False, True, False], "anomaly_id": [None, None, 5, None],
        "error": [0.1, 0.2, 3.0, 0.1],
    })
    figure = charts.embedding_figure(windows, highlight_cluster=1)
    assert [trace.name for trace in figure.data] == ["cluster 0", "cluster 1", "flagged"]
    assert figure.data[0].opacity < figure.data[1].opacity
    assert "s2" in figure.data[1].customdata[0][0]


def lookalike_windows() -> pd.DataFrame:
    return pd.DataFrame({
        "stream": ["s1", "s2", "s2", "s1"], "channel": ["value", "p", "p", "value"],
        "start_ts": pd.date_range("2024-01-01", periods=4, tz="UTC"),
        "end_ts": pd.date_range("2024-01-02", periods=4, tz="UTC"),
        "error": [3.0, 2.0, 1.0, 0.1], "is_anomaly": [True, True, True, False],
        "anomaly_id": pd.array([5, 6, 6, None], dtype="Int64"), "cluster": [0, 0, 1, 0],
        "x": [0.0, 1, 2, 3], "y": [0.0, 1, 2, 3],
    })


def test_lookalike_figure_colours_clusters_and_gives_each_stream_a_symbol() -> None:
    figure = charts.lookalike_figure(lookalike_windows(), highlight_cluster=1)
    legend = [trace.name for trace in figure.data if trace.showlegend is not False]
    assert legend == ["cluster 0", "cluster 1", "s1", "s2"]
    flagged_0, normal_0, flagged_1 = (trace for trace in figure.data if trace.showlegend is False)
    assert (flagged_0.name, normal_0.name, flagged_1.name) == ("cluster 0", "cluster 0, normal", "cluster 1")
    assert list(flagged_0.marker.symbol) == ["circle", "square"]
    assert list(normal_0.marker.symbol) == ["circle-open"]
    assert flagged_0.marker.color == normal_0.marker.color != flagged_1.marker.color
    assert flagged_0.opacity < flagged_1.opacity
    assert list(flagged_0.customdata[1][:5]) == ["s2", "p", "2024-01-02 00:00:00+00:00",
                                                 "2024-01-03 00:00:00+00:00", "#6"]


def test_shapes_figures_overlay_windows_and_cluster_means() -> None:
    windows = lookalike_windows()
    shapes = np.array([[0.0, 1, 0], [0.0, 2, 0], [1.0, 0, -1], [0.0, 0, 0]])
    overlay = charts.shapes_figure(windows.iloc[:2], shapes[:2])
    assert [trace.name for trace in overlay.data] == ["s1", "s2", "mean shape"]
    assert list(overlay.data[-1].y) == pytest.approx([0, 1.5, 0])
    assert list(overlay.data[0].x) == pytest.approx([0, 50, 100])
    means = charts.cluster_shapes_figure(windows, shapes)
    assert [trace.name for trace in means.data] == ["cluster 0 (3 windows)", "cluster 1 (1 window)"]
