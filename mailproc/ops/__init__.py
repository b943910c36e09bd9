"""ops: running it — the scheduler (a timer only), connectivity checks, read-only views for
the CLI, logging, and the demo.

Rule: holds no business decisions; calls the stages through :class:`mailproc.app.App`.
"""
