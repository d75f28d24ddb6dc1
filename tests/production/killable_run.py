"""``anomaly run CONFIG`` that stops dead inside the second stream's transaction, for crash tests.

After the second stream's rows are inserted but before they are committed it writes MARKER and
sleeps, so the test can SIGKILL it at exactly that point. Usage: python killable_run.py CONFIG MARKER
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anomaly.storage.writer as writer
from anomaly.cli import main

config_file, marker = sys.argv[1], Path(sys.argv[2])
insert_windows = writer._insert_windows
calls = []


def insert_then_hang_on_the_second_stream(*args, **kwargs):
    inserted = insert_windows(*args, **kwargs)
    calls.append(inserted)
    if len(calls) == 2:
        marker.write_text("second stream inserted, not committed")
        time.sleep(600)
    return inserted


writer._insert_windows = insert_then_hang_on_the_second_stream
sys.exit(main(["run", config_file]))
