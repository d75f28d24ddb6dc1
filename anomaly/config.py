"""The pipeline configuration: one validated object, read from TOML and overridden by CLI flags.

Everything a run needs (where the data is, how to prepare and window it, the model, the threshold,
where results go) lives here and is passed down explicitly; nothing deeper reads files or the
environment. Unknown keys are rejected so that a typo in a config file fails loudly.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from anomaly.detectors.registry import DEFAULT_DETECTOR
from anomaly.errors import ConfigError
from anomaly.thresholds import BlockMaximaConfig, ThresholdConfig

DEFAULT_DB_URL = "sqlite:///anomaly.db"
EXECUTOR_PATTERN = r"^(in-process|processes(:[1-9]\d*)?|dask://[^\s/]+|dask-local:[1-9]\d*)$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Section):
    """Where the sensor data comes from and how its columns are named."""

    path: Path | None = Field(None, description="CSV/Parquet file or directory of CSV files")
    url: str | None = Field(None, description="SQLAlchemy URL of a SQL source")
    table: str | None = Field(None, description="table of the SQL source, in the long layout")
    query: str | None = Field(None, description="query of the SQL source, returning the long layout")
    layout: Literal["auto", "long", "wide", "directory"] = "auto"
    timestamp_column: str = "timestamp"
    stream_column: str = "stream"
    value_columns: tuple[str, ...] = Field(
        (), description="numeric value columns; empty means every column but timestamp and stream"
    )

    @model_validator(mode="after")
    def _one_source(self) -> SourceConfig:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path' (files) or 'url' (SQL source)")
        if self.url is not None and (self.table is None) == (self.query is None):
            raise ValueError("a SQL source needs exactly one of 'table' or 'query'")
        return self


class PreparationConfig(_Section):
    """How raw rows become a regular series: grid, duplicates, gaps."""

    frequency: str = Field("auto", description="sampling interval such as '5min', or 'auto' to infer it")
    max_interpolated_gap: int = Field(
        3, ge=0, description="missing steps filled by linear interpolation; longer gaps split the series"
    )


class WindowConfig(_Section):
    """How a series is cut into windows."""

    length: int = Field(48, ge=4, le=4096, description="time steps per window")
    train_stride: int = Field(4, ge=1, description="steps between training windows")


class ModelConfig(_Section):
    """The LSTM autoencoder and how it is trained.

    ``variant`` chooses what the decoder learns (Srivastava et al. 2015): 'reconstruction' rebuilds the
    window, 'prediction' predicts the ``horizon`` rows after it, 'composite' has one decoder for each
    and minimises the sum of both losses. Every variant's encoder state is the window's embedding.
    """

    variant: Literal["reconstruction", "prediction", "composite"] = "prediction"
    horizon: int = Field(
        8, ge=1, le=4096, description="'prediction'/'composite': rows predicted after each window"
    )
    units: int = Field(32, ge=1, description="LSTM units in each encoder and decoder layer")
    depth: int = Field(1, ge=1, le=4, description="stacked LSTM layers in the encoder and in the decoder")
    activation: Literal["tanh", "relu"] = "tanh"
    reverse_target: bool = Field(
        True, description="decode the window in reverse order (easier to train, Srivastava et al. 2015)"
    )
    epochs: int = Field(15, ge=1)
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    validation_fraction: float = Field(0.2, gt=0, lt=0.9)
    patience: int = Field(3, ge=1, description="epochs without validation improvement before stopping")
    seed: int = 42


class ScoringConfig(_Section):
    """How a window's model error becomes the score compared with the threshold."""

    error: Literal["mse", "mahalanobis"] = Field(
        "mse",
        description="'mse': mean squared error in scaled units; 'mahalanobis': distance of the window's "
        "absolute errors from those of the validation windows (Malhotra et al. 2016)",
    )
    ewma_alpha: float | None = Field(
        0.1,
        gt=0,
        le=1,
        description="smooth window errors in time order with this EWMA weight; 1 or None: no smoothing. "
        "0.1 was chosen on the four development families (docs/quality.md)",
    )
    trailing: int | None = Field(
        None,
        ge=2,
        description="judge each window's error as a z-score against the errors of this many windows "
        "before it (after any smoothing); the threshold is then learnt on those z-scores. None: off",
    )


class EnsembleConfig(_Section):
    """Which detectors the ``ensemble`` detector combines (``detector = "ensemble"``)."""

    members: list[str] = Field(
        ["lstm_autoencoder", "seasonal_naive", "noise_level"],
        min_length=1,
        description="registered detector names, the first one's embeddings shown; a window is flagged "
        "when any member's error passes that member's own threshold",
    )

    @field_validator("members")
    @classmethod
    def _registered_members(cls, members: list[str]) -> list[str]:
        from anomaly.detectors.registry import detector_names

        for name in members:
            if name == "ensemble" or name not in detector_names():
                choices = ", ".join(known for known in detector_names() if known != "ensemble")
                raise ValueError(f"unknown ensemble member {name!r}; choose among {choices}")
        return members


class EmbeddingConfig(_Section):
    """Which windows keep their encoder vectors, and how they are grouped."""

    normal_sample_every: int = Field(24, ge=1, description="keep one normal window every N steps")
    max_clusters: int = Field(8, ge=2)


class StorageConfig(_Section):
    """Where results and model artifacts go."""

    db: str = DEFAULT_DB_URL
    models: Path = Path("models")


_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "min": 60, "s": 1}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(w|d|h|min|s)\s*$")


def _parse_duration(value: object) -> object:
    """'30d', '12h', '90min', '2w', '45s' -> timedelta; a timedelta or None passes through."""
    if value is None or isinstance(value, timedelta):
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"must be a duration such as '30d', '12h', '90min' or '2w' (units w, d, h, min, s), got {value!r}"
        )
    return timedelta(seconds=float(match[1]) * _DURATION_UNITS[match[2]])


def _format_duration(value: timedelta | None) -> str | None:
    """The shortest exact '30d'-style text of a duration, so a dumped config reads back the same."""
    if value is None:
        return None
    seconds = value.total_seconds()
    for unit, size in _DURATION_UNITS.items():
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[
    timedelta, BeforeValidator(_parse_duration), PlainSerializer(_format_duration, when_used="json")
]


class RetrainConfig(_Section):
    """When a stream gets a new model version.

    ``policy`` sets the baseline: 'first_sight' trains a stream's first model, 'every_run' trains a
    new version on every run. With 'first_sight' the triggers below each add a reason to train a new
    version. ``growth`` is on by default: a model fitted on a short history (every stream's first) is
    the weakest and a frozen one alarms for ever after a lasting change, so a new version is trained
    each time the history has doubled, a schedule whose cost is about two fits on the whole history
    however long it grows, and the one the streaming evaluation measures (docs/quality.md). The others
    are off by default so that scheduled runs stay predictable (drift testing in particular costs a
    scoring pass and reacts to the data, so it is opt-in).
    """

    policy: Literal["first_sight", "every_run"] = "first_sight"
    max_age: Duration | None = Field(
        None, description="retrain when the active model is older than this, e.g. '30d', '12h', '2w'"
    )
    max_new_rows: int | None = Field(
        None, ge=1, description="retrain when this many rows arrived after the active model's training data"
    )
    growth: float | None = Field(
        2.0,
        gt=1,
        description="retrain when the stream's history spans this many times what the active model was "
        "trained on (2: each time it doubles); false to keep a model until another trigger",
    )
    drift: bool = Field(
        False,
        description="retrain when the errors of this run's normal windows no longer follow the errors "
        "the model had on held-out data (two-sample Kolmogorov-Smirnov test)",
    )
    drift_alpha: float = Field(0.01, gt=0, lt=1, description="KS p-value below which the errors drifted")
    drift_min_windows: int = Field(
        200, ge=10, description="fewest unflagged windows scored in a run before drift is tested"
    )

    @field_validator("growth", mode="before")
    @classmethod
    def _growth_off(cls, value: object) -> object:
        """``false`` (TOML has no null) turns the trigger off."""
        return None if value is False else value

    @field_validator("max_age")
    @classmethod
    def _positive_age(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be a positive duration such as '30d'")
        return value


ALERT_URL_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


class AlertsConfig(_Section):
    """Notifications of new anomaly events and failed runs, sent to Apprise URLs (Slack, Teams,
    Discord, email, webhooks, ...).

    Alerts are on when ``urls`` is not empty. Which events are alerted is decided when they are stored
    (``min_severity``, ``streams``): changing these later does not alert earlier events. See
    ``anomaly.alerts`` for how a notification is queued and delivered exactly once.
    """

    urls: tuple[str, ...] = Field(
        (), description="Apprise notification URLs such as 'slack://...' or 'mailtos://...'; empty: off"
    )
    min_severity: float = Field(
        1.0, ge=0, description="alert on events whose severity (peak error / threshold) is at least this"
    )
    streams: tuple[str, ...] = Field(
        (), description="alert only on streams whose name matches one of these glob patterns; empty: all"
    )
    digest_over: int = Field(
        5, ge=0, description="when more alerts than this are due for a URL at once, send it one digest"
    )
    dashboard_url: str | None = Field(
        None, description="the dashboard's base URL, e.g. 'http://ops.example.com:8501', for links"
    )
    retry_after: Duration = Field(
        timedelta(minutes=1),
        description="earliest retry after a failed delivery, doubling with each further failure (up to 6h)",
    )

    @field_validator("urls")
    @classmethod
    def _urls_have_a_scheme(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not ALERT_URL_PATTERN.match(url):
                raise ValueError(f"{url.split(':', 1)[0]!r}...: not a notification URL such as 'slack://...'")
        return urls

    @field_validator("dashboard_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://\S+$", value):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value.rstrip("/") if value is not None else None

    @property
    def enabled(self) -> bool:
        """Whether anything is alerted at all."""
        return bool(self.urls)

    def covers(self, stream: str) -> bool:
        """Whether events of ``stream`` are alerted (by its name against ``streams``)."""
        return self.enabled and (not self.streams or any(fnmatchcase(stream, p) for p in self.streams))


class PipelineConfig(_Section):
    """The whole configuration of a pipeline."""

    name: str = "pipeline"
    detector: str = Field(
        DEFAULT_DETECTOR,
        description="which detector each stream gets, by registered name: 'ensemble' (the default: "
        "the detectors [ensemble] names, by default the autoencoder, the seasonal naive and the "
        "noise-level ones, each with its own threshold), 'lstm_autoencoder' (the article's model, "
        "configured by [model] and [scoring]), 'rolling_zscore' (the statistical baseline), "
        "'seasonal_naive' (each window against the same phase of earlier cycles) or 'noise_level' "
        "(each window's row-to-row movement against the stream's usual); see "
        "anomaly/detectors/registry.py",
    )
    source: SourceConfig
    preparation: PreparationConfig = PreparationConfig()
    window: WindowConfig = WindowConfig()
    model: ModelConfig = ModelConfig()
    threshold: ThresholdConfig = Field(
        default_factory=BlockMaximaConfig,
        description="how the anomaly threshold is learnt from window errors: one method of "
        "anomaly.thresholds, chosen by `method` ('block_maxima' when absent), with its own parameters",
    )
    scoring: ScoringConfig = ScoringConfig()
    ensemble: EnsembleConfig = EnsembleConfig()
    embeddings: EmbeddingConfig = EmbeddingConfig()
    retrain: RetrainConfig = RetrainConfig()
    storage: StorageConfig = StorageConfig()
    alerts: AlertsConfig = AlertsConfig()
    executor: str = Field(
        "in-process",
        description="where per-stream work runs: 'in-process', 'processes[:N]', 'dask://HOST:PORT' "
        "or 'dask-local:N' (see pipelines/executors.py)",
        pattern=EXECUTOR_PATTERN,
    )

    @field_validator("detector")
    @classmethod
    def _registered_detector(cls, value: str) -> str:
        from anomaly.detectors.registry import detector_names

        if value not in detector_names():
            raise ValueError(f"unknown detector {value!r}; choose one of {', '.join(detector_names())}")
        return value

    def recorded(self) -> dict[str, Any]:
        """The configuration as JSON for the ``runs`` row, notification URLs cut to their scheme: they
        hold tokens and passwords, which the database (and whoever reads it) must not see."""
        dumped = self.model_dump(mode="json")
        dumped["alerts"]["urls"] = [url.split("://", 1)[0] + "://***" for url in self.alerts.urls]
        return dumped

    def with_overrides(
        self, *, data: Path | None = None, db: str | None = None, models: Path | None = None
    ) -> PipelineConfig:
        """Return a copy with CLI flags applied; ``--data`` replaces the source and re-detects its layout."""
        config = self
        if data is not None:
            source = self.source.model_dump(exclude={"path", "url", "table", "query", "layout"})
            config = config.model_copy(update={"source": SourceConfig(path=data, **source)})
        storage = {}
        if db is not None:
            storage["db"] = db
        if models is not None:
            storage["models"] = models
        if storage:
            config = config.model_copy(update={"storage": config.storage.model_copy(update=storage)})
        return config


def _format_validation_error(error: ValidationError, origin: str) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{origin}: {location}: {first['msg']}{more}"


def load_config(path: Path | None) -> PipelineConfig:
    """Read and validate a TOML pipeline file; relative data paths are taken from the file's folder.

    Data paths are resolved against the config file so that a scheduler (whose working directory is
    rarely the project) finds the same data; the database URL and models folder stay as written.
    """
    if path is None:
        raise ConfigError("no pipeline config given: pass CONFIG or --data PATH")
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    source = raw.get("source")
    if isinstance(source, dict) and isinstance(source.get("path"), str):
        data_path = Path(source["path"])
        if not data_path.is_absolute():
            source["path"] = str(Path(path).parent / data_path)
    threshold = raw.get("threshold")
    if isinstance(threshold, dict) and isinstance(threshold.get("labels"), str):
        labels_path = Path(threshold["labels"])
        if not labels_path.is_absolute():
            threshold["labels"] = str(Path(path).parent / labels_path)
    return config_from_dict(raw, origin=str(path))


def config_from_dict(raw: dict, *, origin: str = "config") -> PipelineConfig:
    """Validate a configuration given as a dictionary (the parsed TOML)."""
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, origin)) from None


def config_for_data(data: Path) -> PipelineConfig:
    """The default configuration for a data path given on the command line without a config file."""
    return PipelineConfig(source=SourceConfig(path=data))
