"""``anomaly run CONFIG`` that stops dead after its streams and its run row are committed, before it
delivers a single alert, for crash tests.

It writes MARKER where delivery would start and sleeps, so the test can SIGKILL it at exactly that
point. Usage: python killable_delivery.py CONFIG MARKER
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pipelines.runner as runner
from anomaly.cli import main

config_file, marker = sys.argv[1], Path(sys.argv[2])


def hang_instead_of_delivering(engine, config):
    marker.write_text("committed, not delivered")
    time.sleep(600)


runner.deliver_alerts = hang_instead_of_delivering
sys.exit(main(["run", config_file]))
