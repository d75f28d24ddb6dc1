"""Where a stream's model versions live under the models directory."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def artifact_dir(models_root: Path, stream_name: str, version: int) -> Path:
    """``<root>/<readable-stream-slug>-<hash>/v0001``: readable, and distinct even for names that
    differ only in characters a file system cannot hold."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", stream_name).strip("._")[:80] or "stream"
    digest = hashlib.sha256(stream_name.encode("utf-8")).hexdigest()[:8]
    return models_root / f"{readable}-{digest}" / f"v{version:04d}"
