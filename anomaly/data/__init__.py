"""Loading and preparation: from a source to regular, gap-free series ready for windowing.

- ``load_source`` reads a file, a directory of CSVs or a SQL query into one ``RawStream`` per stream,
  parsed (UTC timestamps, float values) but not cleaned; a stream that cannot be read is reported in
  ``LoadedSource.failures`` without stopping the others.
- ``prepare_stream`` turns a ``RawStream`` into a ``PreparedStream``: sorted, deduplicated, on a regular
  grid, short gaps filled, split at long gaps, with a ``PreparationReport`` of what it changed.
- ``ranges``: which rows a run wants (``ReadRanges``), which ``load_source`` pushes into SQL queries
  (``sql_ranges``) and Parquet row groups (``parquet_ranges``), so a scheduled run reads the end of
  a long history; ``prepare_stream(..., grid=GridAnchor(...))`` prepares such an end on the grid of
  the run before, exactly as the whole would be from ``preparation_reach`` steps in.
- ``labels``: labelled anomaly intervals in NAB's ``combined_windows.json`` format, read by
  ``anomaly evaluate`` and by the pipeline for a label-tuned threshold.
"""

from anomaly.data.prepare import prepare_stream
from anomaly.data.sources import LoadedSource, detect_layout, load_source
from anomaly.data.types import PreparationReport, PreparedStream, RawStream

__all__ = [
    "LoadedSource",
    "PreparationReport",
    "PreparedStream",
    "RawStream",
    "detect_layout",
    "load_source",
    "prepare_stream",
]
