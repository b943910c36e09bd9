"""Named points where crash-consistency tests make the process die (``os._exit``).

Set ``MAILPROC_CRASH_AT=<name>`` in a subprocess's environment; the process exits with
status 77 the first time it reaches that point. Costs one dictionary lookup otherwise.
"""

from __future__ import annotations

import os

CRASH_EXIT_CODE = 77
_TARGET = os.environ.get("MAILPROC_CRASH_AT", "")


def crash_point(name: str) -> None:
    if _TARGET and name == _TARGET:
        os._exit(CRASH_EXIT_CODE)
