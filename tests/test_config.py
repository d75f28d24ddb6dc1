import json
from pathlib import Path

import pytest

from anomaly.config import config_from_dict, load_config
from anomaly.errors import ConfigError
from anomaly.thresholds import BlockMaximaConfig

ROOT = Path(__file__).resolve().parents[1]


def test_sample_pipeline_config_is_valid_and_points_at_the_sample_data():
    config = load_config(ROOT / "pipelines" / "sample.toml")
    assert config.source.path.resolve() == (ROOT / "sample_data" / "sensors.csv").resolve()
    assert config.window.length == 48
    assert config.storage.db == "sqlite:///anomaly.db"


def test_unknown_key_is_rejected_with_its_location(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[source]\npath = "x.csv"\n[window]\nlenght = 3\n')
    with pytest.raises(ConfigError, match=r"p.toml: window.lenght: Extra inputs are not permitted"):
        load_config(path)


def test_invalid_value_names_the_field(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[source]\npath = "x.csv"\n[model]\nactivation = "sigmoid"\n')
    with pytest.raises(ConfigError, match=r"model\.activation"):
        load_config(path)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[source\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_source_needs_exactly_one_of_path_and_url():
    with pytest.raises(ConfigError, match="exactly one"):
        config_from_dict({"source": {}})
    with pytest.raises(ConfigError, match="table"):
        config_from_dict({"source": {"url": "sqlite:///x.db"}})


def test_overrides_replace_source_and_storage(tmp_path):
    config = config_from_dict({"source": {"path": "a.csv", "layout": "long", "value_columns": ["v"]}})
    changed = config.with_overrides(data=tmp_path, db="sqlite:///other.db", models=tmp_path / "m")
    assert changed.source.path == tmp_path
    assert changed.source.layout == "auto"
    assert changed.source.value_columns == ("v",)
    assert changed.storage.db == "sqlite:///other.db"
    assert changed.storage.models == tmp_path / "m"


# -- the threshold section ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "message"),
    [
        ({"method": "label_tuned"}, r"threshold\.label_tuned\.labels: Field required"),
        ({"method": "spot", "spot_initial_quantile": 0.99, "spot_risk": 0.02}, "spot_risk must be below"),
        ({"method": "dynamic", "dynamic_z_range": [5.0, 2.0, 0.5]}, "dynamic_z_range: .*start <= stop"),
        ({"method": "dynamic", "dynamic_z_range": [2.0, 10.0, 0.0]}, "step > 0"),
        (
            {"method": "label_tuned", "labels": "l.json", "label_fallback": "label_tuned"},
            r"threshold\.label_tuned\.label_fallback: Input tag 'label_tuned'",
        ),
        ({"method": "dynamic", "dynamic_min_decrease": 0}, "dynamic_min_decrease"),
        (
            {"method": "foo"},
            "threshold: Input tag 'foo' found using 'method' does not match any of the expected tags: "
            "'block_maxima', 'dynamic', 'mad', 'quantile', 'spot', 'label_tuned'",
        ),
        ({"method": "mad", "margin": 2.0}, r"threshold\.mad\.margin: Extra inputs are not permitted"),
        ({"k": 3}, r"threshold\.block_maxima\.k: Extra inputs are not permitted"),
    ],
)
def test_threshold_config_errors_are_one_line(threshold, message):
    with pytest.raises(ConfigError, match=message) as caught:
        config_from_dict({"source": {"path": "data.csv"}, "threshold": threshold})
    assert "\n" not in str(caught.value)


def test_a_threshold_section_without_method_is_block_maxima(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[source]\npath = "x.csv"\n[threshold]\nmargin = 2.0\n')
    assert load_config(path).threshold == BlockMaximaConfig(margin=2.0)
    assert config_from_dict({"source": {"path": "x.csv"}}).threshold == BlockMaximaConfig()


def test_relative_labels_path_is_taken_from_the_config_folder(tmp_path):
    (tmp_path / "pipeline.toml").write_text(
        '[source]\npath = "data.csv"\n[threshold]\nmethod = "label_tuned"\nlabels = "labels.json"\n'
    )
    config = load_config(tmp_path / "pipeline.toml")
    assert config.threshold.labels == tmp_path / "labels.json"


@pytest.mark.parametrize(
    "threshold",
    [
        {},
        {"method": "mad", "k": 3, "errors": "validation"},
        {"method": "spot", "spot_risk": 1e-3},
        {"method": "dynamic", "dynamic_z_range": [3.0, 6.0, 1.0]},
        {
            "method": "label_tuned",
            "labels": "l.json",
            "label_fallback": {"method": "quantile", "quantile": 0.9},
        },
    ],
)
def test_the_threshold_section_round_trips_through_json(threshold):
    config = config_from_dict({"source": {"path": "x.csv"}, "threshold": threshold})
    dumped = json.loads(json.dumps(config.model_dump(mode="json")))
    assert config_from_dict(dumped) == config
