"""notices: outgoing e-mail — render the Jinja2 templates (autoescaped) into safe messages,
the outbox rows, formal letters (PDF), the digest's numbers, and delivery over SMTP.

Rule: knows nothing of the workflow's decisions: it renders and sends what it is given.
Imports ``core``, ``store`` and ``analysis`` (header cleaning).
"""
