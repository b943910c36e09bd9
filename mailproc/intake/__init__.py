"""intake: IMAP in — connect, poll, store each message's raw bytes once, and move what was
stored out of the shared folder only after the commit.

Rule: writes only inbound rows and mailbox state; never parses mail (that is analysis) and
never decides anything about tickets. Imports ``core`` and ``store``.
"""
