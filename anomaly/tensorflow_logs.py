"""TensorFlow's start-up chatter kept off the terminal: called by the CLI unless ``-v`` is given.

TensorFlow's C++ core writes log lines to file descriptor 2 as it loads: oneDNN notices, "All log
messages before absl::InitializeLog() is called are written to STDERR", CPU-feature and CUDA probing.
Several come from static initialisers that run before TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL``, so
that variable alone does not stop them, and they bypass ``sys.stderr``. ``quiet_tensorflow`` therefore:

- sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless the user set it (C++ info and warnings after start-up);
- while ``tensorflow`` is first imported, points descriptor 2 at a temporary file, then writes back
  every line but TensorFlow's own info, warning and error lines of the start-up, so anything else
  (a Python warning, a fatal error) still shows;
- raises the Python loggers ``tensorflow`` and ``absl`` to ERROR.

``TF_ENABLE_ONEDNN_OPTS`` is left as it is: it changes the numerics, not only the messages. The hook
only acts when TensorFlow is imported, so commands that do not need it stay as fast as before.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
# absl's format ("I0000 00:00:1796195981.460280   11110 port.cc:153] ...") and the older
# "2024-05-01 12:00:00.000000: I tensorflow/core/util/port.cc:113] ..."; F (fatal) lines are kept.
_CHATTER = re.compile(
    r"^(?:[IWE]\d{4} \S+\s+\d+ \S+:\d+\]"
    r"|\d{4}-\d\d-\d\d [\d:.]+: [IWE] \S+:\d+\]"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: )"
)
_quiet = False


def is_chatter(line: str) -> bool:
    """Whether ``line`` is one of TensorFlow's start-up log lines rather than a message for the user."""
    return _CHATTER.match(line) is not None


@contextmanager
def _start_up_lines_dropped() -> Iterator[None]:
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 at all: nothing to keep clean
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not is_chatter(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` with the start-up lines dropped."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps the real loader, which resource readers ask for.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        with _start_up_lines_dropped():
            self._loader.exec_module(module)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` with the other finders and wraps its loader, once."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec is not None else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


def quiet_tensorflow() -> None:
    """Keep TensorFlow's start-up and info lines off stderr in this process (see the module's doc).

    Safe to call more than once; process pools call it in each worker (``is_quiet``) so that every
    process that imports TensorFlow stays as quiet as the command that started them.
    """
    global _quiet
    os.environ.setdefault(LOG_LEVEL_VARIABLE, "2")
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules and not any(
        isinstance(finder, _QuietTensorFlowFinder) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())
    _quiet = True


def is_quiet() -> bool:
    """Whether ``quiet_tensorflow`` was called in this process."""
    return _quiet
