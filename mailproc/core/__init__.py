"""core: what every stage below uses — text normalisation, working days, the agent roster,
the stage context and report, crash points for tests.

Rule: imports only ``mailproc.errors``, ``mailproc.vocabulary`` and ``mailproc.config``; no
database, no network, no templates.
"""
