"""Comparing windows across streams by shape: the pure functions, then the map of the fixture database."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from anomaly.storage.database import open_engine, upgrade_schema
from dashboard import lookalike
from dashboard.lookalike import SHAPE_LENGTH


def spike(length: int, rng: np.random.Generator) -> np.ndarray:
    values = rng.normal(0, 0.05, length)
    values[length // 2] += 4.0
    return values


def level_shift(length: int, rng: np.random.Generator) -> np.ndarray:
    values = rng.normal(0, 0.05, length)
    values[length // 2 :] -= 3.0
    return values


def test_window_shape_ignores_level_and_scale_and_resamples() -> None:
    rng = np.random.default_rng(0)
    values = spike(50, rng)
    shape = lookalike.window_shape(values)
    assert shape.shape == (SHAPE_LENGTH,)
    assert shape.mean() == pytest.approx(0, abs=1e-12) and shape.std() == pytest.approx(1)
    np.testing.assert_allclose(lookalike.window_shape(1000 + 250 * values), shape, atol=1e-9)


def test_constant_and_gappy_windows_have_a_shape_without_dividing_by_zero() -> None:
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(lookalike.window_shape(np.full(40, 7.5)), np.zeros(SHAPE_LENGTH))
        np.testing.assert_array_equal(lookalike.window_shape(np.array([3.0])), np.zeros(SHAPE_LENGTH))
    gappy = lookalike.window_shape(np.array([0.0, np.nan, 1.0, 2.0]))
    assert np.isfinite(gappy).all() and gappy[0] < gappy[-1]
    with pytest.raises(ValueError, match="finite value"):
        lookalike.window_shape(np.array([np.nan, np.nan]))


def test_spikes_and_level_shifts_of_four_streams_form_two_clusters_whatever_their_units() -> None:
    rng = np.random.default_rng(3)
    # Two streams with spikes and two with level shifts, each at its own level, scale and length.
    streams = [(spike, 10.0, 1.0, 64), (spike, 5000.0, 80.0, 32), (level_shift, -4.0, 0.01, 48),
               (level_shift, 300.0, 20.0, 100)]
    kinds, shapes = [], []
    for make, level, scale, length in streams:
        for _ in range(3):
            shapes.append(lookalike.window_shape(level + scale * make(length, rng)))
            kinds.append(make.__name__)
    _, clusters = lookalike.place_shapes(np.array(shapes), np.ones(len(shapes), dtype=bool))
    by_kind = pd.Series(clusters).groupby(pd.Series(kinds)).unique()
    assert [len(labels) for labels in by_kind] == [1, 1], "each kind is one cluster"
    assert by_kind["spike"][0] != by_kind["level_shift"][0]


def test_placing_is_deterministic_and_context_windows_move_nothing() -> None:
    rng = np.random.default_rng(5)
    flagged = np.array([lookalike.window_shape(make(40, rng)) for make in (spike, spike, level_shift,
                                                                              level_shift, spike)])
    normal = np.array([lookalike.window_shape(rng.normal(0, 1, 40)) for _ in range(4)])
    alone = lookalike.place_shapes(flagged, np.ones(5, dtype=bool))
    mixed = lookalike.place_shapes(np.vstack([flagged, normal]), np.arange(9) < 5)
    np.testing.assert_allclose(mixed[0][:5], alone[0])
    np.testing.assert_array_equal(mixed[1][:5], alone[1])
    again = lookalike.place_shapes(flagged, np.ones(5, dtype=bool))
    np.testing.assert_array_equal(again[0], alone[0])


@pytest.mark.parametrize("n_flagged", [1, 2])
def test_too_few_windows_form_one_group(n_flagged: int) -> None:
    rng = np.random.default_rng(1)
    shapes = np.array([lookalike.window_shape(spike(30, rng)) for _ in range(n_flagged + 2)])
    positions, clusters = lookalike.place_shapes(shapes, np.arange(len(shapes)) < n_flagged)
    assert positions.shape == (len(shapes), 2) and np.isfinite(positions).all()
    assert set(clusters) == {0}


def test_dominant_channel_is_where_the_reconstruction_missed() -> None:
    actual = np.zeros((10, 3))
    actual[4, 2] = 5.0
    actual[:, 0] = np.linspace(0, 100, 10)
    assert lookalike.dominant_channel(actual, np.zeros((10, 3)), np.array([1000.0, 1.0, 1.0])) == 2
    assert lookalike.dominant_channel(actual, None, np.array([1.0, 1.0, 1.0])) == 0
    assert lookalike.dominant_channel(actual[:, :1], None, np.ones(1)) == 0


def test_build_map_shapes_each_window_and_counts_those_without_values() -> None:
    windows = pd.DataFrame({
        "window_id": [1, 2, 3], "stream_id": [10, 20, 10], "stream": ["a", "b", "a"],
        "channels": [["value"], ["p", "v"], ["value"]],
        "start_ts": pd.date_range("2024-01-01", periods=3, tz="UTC"),
        "end_ts": pd.date_range("2024-01-02", periods=3, tz="UTC"),
        "error": [2.0, 3.0, 1.0], "is_anomaly": [True, True, True], "anomaly_id": [7, 8, 9],
        "status": ["open", "open", "confirmed"], "reconstruction": [None, [[0.0, 0.0]] * 4, None],
    })
    series = pd.DataFrame({
        "window_id": [1] * 4 + [2] * 4, "ts": list(range(8)),
        "value": [1.0, 5.0, 1.0, 1.0] + [None] * 4,
        "values": [None] * 4 + [[0.0, 0.0], [0.0, 9.0], [0.0, 0.0], [0.0, None]],
    })
    space = lookalike.build_map(windows, series, {20: np.ones(2)})
    assert space.n_without_values == 1
    assert list(space.windows["window_id"]) == [1, 2]
    assert list(space.windows["channel"]) == ["value", "v"]
    assert space.shapes.shape == (2, SHAPE_LENGTH)
    assert {"x", "y", "cluster"} <= set(space.windows.columns)


def test_an_empty_database_gives_an_empty_map(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade_schema(engine)
    space = lookalike.load_map(engine, normal_sample=5)
    engine.dispose()
    assert space.windows.empty and space.shapes.shape == (0, SHAPE_LENGTH)
    assert space.n_without_values == 0


def test_map_of_the_fixture_compares_flagged_windows_of_active_models_across_streams(engine: Engine) -> None:
    space = lookalike.load_map(engine, every_window=True)
    windows = space.windows
    # Active models: machine_temperature v2 (its drop), nyc_taxi (its drop), pump (a spike and a drop).
    assert len(windows) == 8 and windows["is_anomaly"].all()
    assert set(windows["stream"]) == {"machine_temperature", "realKnownCause/nyc_taxi.csv", "pump_station_7"}
    pump = windows[windows["stream"] == "pump_station_7"]
    assert set(pump["channel"]) == {"pressure", "vibration"}, "drops are on pressure, spikes on vibration"
    np.testing.assert_allclose(space.shapes.std(axis=1), 1.0)
    # The drops of the three streams, taken the same distance before their peak, look alike.
    drops = windows[windows["channel"] != "vibration"].sort_values("window_id")
    earlier, later = drops.iloc[::2], drops.iloc[1::2]
    assert earlier["cluster"].nunique() == 1 and later["cluster"].nunique() == 1
    assert set(earlier["stream"]) == set(later["stream"]) == set(windows["stream"])
    pd.testing.assert_frame_equal(lookalike.load_map(engine, every_window=True).windows, windows)


def test_by_default_each_anomaly_is_its_highest_error_window(engine: Engine) -> None:
    every = lookalike.load_map(engine, every_window=True).windows
    peaks = lookalike.load_map(engine).windows
    assert len(peaks) == every["anomaly_id"].nunique() < len(every)
    expected = every.loc[every.groupby("anomaly_id")["error"].idxmax(), "window_id"]
    assert set(peaks["window_id"]) == set(expected)


def test_normal_windows_for_context_come_from_active_models_and_move_nothing(engine: Engine) -> None:
    flagged_only = lookalike.load_map(engine).windows
    with_context = lookalike.load_map(engine, normal_sample=5).windows
    assert len(with_context) == len(flagged_only) + 5
    assert not with_context["is_anomaly"].iloc[len(flagged_only):].any()
    pd.testing.assert_frame_equal(with_context.iloc[: len(flagged_only)], flagged_only, check_dtype=False)
