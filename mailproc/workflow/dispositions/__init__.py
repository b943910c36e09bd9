"""What processing does with one stored e-mail, as named dispositions tried in order.

Like Mailman 3's pipeline of handlers: each disposition is a small module with one
``handle(session, ctx, state, mail, now)`` that either claims the message — returning a
:class:`~mailproc.workflow.dispositions.base.Disposed` with the outcome — or passes
(``None``) to the next. The order is the one place that says how a message is handled:

1. ``quarantine``      it could not be analysed (its error and raw bytes are kept)
2. ``sent_copy``       a copy of a reply an agent sent from the shared mailbox's Sent folder
3. ``filtered``        an auto-reply, list mail, a robot or a bounce: no ticket, no reply
4. ``agent_mail``      an authenticated agent's commands or text for a ticket
5. ``customer_reply``  a reply filed on the ticket it answers
6. ``new_complaint``   everything else becomes a new ticket (always claims)
"""

from __future__ import annotations

from mailproc.workflow.dispositions import (
    agent_mail,
    customer_reply,
    filtered,
    new_complaint,
    quarantine,
    sent_copy,
)
from mailproc.workflow.dispositions.base import Disposition

PIPELINE: tuple[Disposition, ...] = (
    quarantine.handle,
    sent_copy.handle,
    filtered.handle,
    agent_mail.handle,
    customer_reply.handle,
    new_complaint.handle,
)
