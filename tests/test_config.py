from pathlib import Path

import pytest

from anomaly.config import config_from_dict, load_config
from anomaly.errors import ConfigError

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
