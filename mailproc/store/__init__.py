"""store: the durable rows where the stages meet (models), the engine and transactions
(db), and the schema's migrations (Alembic).

Rule: imports only ``core`` and the top-level basics; knows nothing of IMAP, SMTP, parsing or
the workflow.
"""
