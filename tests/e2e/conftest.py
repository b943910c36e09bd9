"""End-to-end tests: every test here runs against the real servers (Dovecot, SMTP, and
PostgreSQL when configured) and is marked ``e2e`` (the quick loop is ``-m "not e2e"``)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent.name == "e2e":
            item.add_marker(pytest.mark.e2e)
