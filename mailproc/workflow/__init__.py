"""workflow: the K+ complaint process — the state machine (``states``, pure), assessment and
time limits, the per-message dispositions in order (``dispositions``), the steps that change
tickets and queue notices (``steps``), agents' commands, the deadline sweep and the digest.

Rule: every status change goes through the state machine; a stage writes its ticket rows,
events and outbox rows in one transaction and never talks to IMAP or SMTP itself. Imports
``core``, ``store``, ``analysis`` and ``notices`` (to render what it queues).
"""
