"""The sample contexts check-config renders the templates with: every kind and branch renders
with the shipped templates, and the samples have every key the workflow really stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailproc.app import App
from mailproc.config import from_mapping
from mailproc.notices.outbox import load_context
from mailproc.notices.render import make_environment
from mailproc.notices.samples import sample_contexts
from mailproc.ops.checks import render_samples
from mailproc.vocabulary import NoticeKind
from tests.helpers import Clock
from tests.helpers.desk import BaseDesk, desk_app
from tests.helpers.mail import complaint, new_id

SHARED = "cskh@kplus.example"
AGENTS = [{"email": "an.le@kplus.vn", "role": "l1", "name": "Lê Văn An"}]
CONFIG = from_mapping({}, env={}, source="<test>")


def test_every_kind_has_a_sample_and_every_shipped_template_renders_with_them() -> None:
    samples = list(sample_contexts(CONFIG, Clock()()))
    assert {kind for kind, _, _ in samples} == set(NoticeKind)
    assert render_samples(make_environment(), CONFIG, Clock()()) == []


@pytest.fixture
def desk(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[BaseDesk]:
    app: App = desk_app(database_url, tmp_path, clock, {"smtp": {"from_address": SHARED}, "agents": AGENTS})
    try:
        yield BaseDesk(app, clock)
    finally:
        app.close()


def test_the_samples_have_the_keys_the_workflow_stores(desk: BaseDesk) -> None:
    """A key the workflow adds to a context (and a template may use) but the samples lack
    would make check-config fail on a template that works: this test fails first."""
    desk.store(complaint(sender="Nguyễn Văn An <an.nguyen@gmail.com>", message_id=new_id()))
    desk.app.process_once()
    stored = {(o.kind, load_context(o.context).get("event", "")): load_context(o.context)
              for o in desk.outbox() if o.context is not None}
    assert set(stored) >= {("receipt", ""), ("agent_notice", "new")}
    samples = {(kind, variant or ""): context for kind, variant, context in sample_contexts(CONFIG, desk.clock())}
    samples[("agent_notice", "")] = samples[("agent_notice", "new")]
    for key, context in stored.items():
        kind, event = key
        sample = samples[(kind, event)] if kind == "agent_notice" else samples[(kind, "")]
        assert set(context) <= set(sample), (key, set(context) - set(sample))
