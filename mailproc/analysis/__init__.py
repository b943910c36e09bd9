"""analysis: stored bytes in, an :class:`~mailproc.analysis.pool.Analysis` value out — MIME
parsing, charsets, quoted history, auto-reply filters, threading tags, the customer's
identifiers (``extract/``) and the routing rules.

Rule: pure. No database writes and no network: the worker pool reads the stored bytes
through ``store.db.RawReader`` and nothing else of the store. Imports ``core`` (and the
config).
"""
