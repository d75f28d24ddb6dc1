"""The house's layering, checked on the source: which package may import which.

- The library (``anomaly/`` outside ``storage/`` and the CLI) never imports storage, the pipelines or
  the dashboard: detectors, decisions and evaluation work on data, not on a database.
- Storage writes plain records (``anomaly.results``) and imports no analysis code.
- The dashboard only reads the database: no model code, no TensorFlow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

ANALYSIS = (
    "anomaly.analysis",
    "anomaly.decisions",
    "anomaly.detectors",
    "anomaly.embeddings",
    "anomaly.evaluation",
    "anomaly.events",
    "anomaly.model",
    "anomaly.retrain",
    "anomaly.scoring",
    "anomaly.thresholds",
)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions (type-checking imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _violations(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in paths
        for name in sorted(_imports(path))
        if any(name == prefix or name.startswith(prefix + ".") for prefix in forbidden)
    ]


def test_the_library_never_imports_storage_pipelines_or_the_dashboard():
    library = [
        path
        for path in _modules("anomaly")
        if "storage" not in path.relative_to(ROOT / "anomaly").parts and path.name != "cli.py"
    ]
    assert library
    assert _violations(library, ("anomaly.storage", "pipelines", "dashboard", "streamlit")) == []


def test_storage_imports_no_analysis_code():
    storage = _modules("anomaly/storage")
    assert storage
    assert _violations(storage, ANALYSIS) == []


@pytest.mark.parametrize("forbidden", [("tensorflow", "keras"), ("anomaly.model", "anomaly.detectors")])
def test_the_dashboard_reads_the_database_only(forbidden):
    assert _violations(_modules("dashboard"), forbidden) == []
