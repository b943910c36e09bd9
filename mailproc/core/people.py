"""Who an e-mail address is, for the caps on automatic mail: the person, not the string.

``An.Nguyen+k1@Gmail.com``, ``annguyen@googlemail.com`` and ``an.nguyen@gmail.com`` are one
person: case is folded, a ``+tag`` is dropped, and the dots Gmail ignores are removed.
"""

from __future__ import annotations

# Providers whose mailboxes ignore dots in the local part.
_DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def person(address: str) -> str:
    """The normalised form of ``address`` that the caps count."""
    local, _, domain = address.strip().lower().rpartition("@")
    if not local:
        return address.strip().lower()
    local = local.split("+", 1)[0] or local
    canonical = _DOTLESS.get(domain)
    if canonical is not None:
        local, domain = local.replace(".", ""), canonical
    return f"{local}@{domain}"


def domain_of(address: str) -> str:
    return person(address).rpartition("@")[2]
