"""Outgoing e-mail: render templates, queue in the outbox, deliver over SMTP."""
