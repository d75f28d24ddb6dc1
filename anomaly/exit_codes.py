"""Process exit codes of the ``anomaly`` command, shared by single runs and the scheduler.

Monitoring reads them: 0 all streams done, 1 the run finished but some streams failed (for
``anomaly alerts test``: some notification URLs failed), 2 the run could not be done (configuration,
data or database error).
"""

EXIT_OK = 0
EXIT_STREAMS_FAILED = 1
EXIT_DELIVERY_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
