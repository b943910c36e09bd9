"""The one error hierarchy of mailproc: a base class and one subclass per failing operation.

Flow outcomes (an ignored auto-reply, a flagged late complaint) are values, not errors.
Third-party failures are wrapped at the edge into one of these, with context attached.
"""

from __future__ import annotations


class MailprocError(Exception):
    """Base of every error mailproc raises on purpose."""


class ConfigError(MailprocError):
    """The configuration is invalid; ``key`` names the offending option (``section.key``)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class ImapError(MailprocError):
    """Talking to the IMAP server failed (connect, login, select, fetch, move)."""

    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(f"IMAP {operation} failed: {detail}")
        self.operation = operation
        self.detail = detail


class SmtpError(MailprocError):
    """Handing a message to the SMTP server failed.

    ``permanent`` is true for a 5xx reply: retrying will not help.
    """

    def __init__(self, detail: str, *, code: int | None = None, permanent: bool = False,
                 attempted: bool = True, in_doubt: bool = False) -> None:
        super().__init__(f"SMTP {'permanent' if permanent else 'transient'} failure: {detail}")
        self.detail = detail
        self.code = code
        self.permanent = permanent
        self.attempted = attempted  # False: the message never reached the server (no attempt is charged)
        self.in_doubt = in_doubt  # True: sent with DATA, no answer heard; it may have been accepted


class MessageRejected(MailprocError):
    """An inbound message cannot be processed (too big, too deep, unparseable).

    The message is quarantined with this reason; its raw bytes are kept.
    """


class WorkflowError(MailprocError):
    """A status change the K+ process does not allow was attempted by mailproc itself (a bug:
    agents' and customers' steps that are not allowed are refused as values, not raised)."""


class OAuthError(MailprocError):
    """No access token could be had from the OAuth 2.0 provider.

    ``permanent`` is true when retrying will not help until the operator acts (the client or
    the refresh token was rejected: ``invalid_client``, ``invalid_grant``)."""

    def __init__(self, detail: str, *, permanent: bool = False) -> None:
        super().__init__(f"OAuth 2.0 token {'refused' if permanent else 'unavailable'}: {detail}")
        self.detail = detail
        self.permanent = permanent
