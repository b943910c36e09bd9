"""testing: the throwaway local mail stack (a real Dovecot and an SMTP server on loopback)
for the test fixtures and the demo.

Rule: apart from the product — only the demo and the CLI's ``demo`` command import it.
"""
