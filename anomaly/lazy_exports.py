"""A package ``__getattr__`` that imports a public name's submodule on first use.

Packages whose submodules load heavy libraries (TensorFlow, scikit-learn) list their public names with
this, so that importing the package, as ``anomaly --help`` or validating a configuration does, stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``name`` is ``package.<exports[name]>.name``."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)

    return __getattr__
