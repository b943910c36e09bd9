"""The agent-mail desk (:mod:`tests.workflow.test_agent_mail_db`) as the default ``desk`` of
the workflow tests; a module that needs another desk defines its own fixture, which wins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Clock
from tests.workflow.test_agent_mail_db import Desk, MakeDesk, build_desk


@pytest.fixture
def make_desk(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[MakeDesk]:
    built: list[Desk] = []

    def make(**sections: dict[str, Any]) -> Desk:
        built.append(build_desk(database_url, tmp_path, clock, **sections))
        return built[-1]

    yield make
    for desk in built:
        desk.app.close()


@pytest.fixture
def desk(make_desk: MakeDesk) -> Desk:
    return make_desk()
