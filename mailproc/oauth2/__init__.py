"""oauth2: access tokens for IMAP and SMTP from Microsoft (MSAL), Google (google-auth) or any
RFC 6749 token endpoint, cached and renewed before they expire, with a rotated refresh token
stored durably the moment it is received; and the SASL strings (XOAUTH2, OAUTHBEARER).

Rule: talks only to the token endpoint; imports ``config`` and ``errors``. A token that cannot
be had is an :class:`~mailproc.errors.OAuthError` (the stages treat it as a transient failure
of their server), never a reason to stop.
"""
