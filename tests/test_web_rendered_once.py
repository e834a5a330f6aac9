"""A page body rendered once per kept answer (``web.pages.common.rendered_once``): the dashboard's body is rendered
again only for another board object, and escaped as every template is."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import Town, make_town
from sqlalchemy import Engine

from mediation_flow.stats.dashboard import dashboard_of
from mediation_flow.store import clock
from web.pages import common

BODY = "partials/dashboard_body.html"


def test_the_same_board_is_rendered_once_and_another_again(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    town: Town = make_town(sqlite_engine)
    board = dashboard_of(sqlite_engine, town["supervisor"], today=clock.local_date(clock.utcnow()))
    rendered: list[str] = []
    get_template = common.TEMPLATES.env.get_template
    monkeypatch.setattr(
        common.TEMPLATES.env, "get_template", lambda name, *rest: rendered.append(name) or get_template(name, *rest)
    )

    first = common.rendered_once(BODY, board=board)
    assert common.rendered_once(BODY, board=board) is first
    assert rendered.count(BODY) == 1
    assert "青龙镇" in first

    renamed = replace(board, place_name="<script>alert(1)</script>镇")
    html = common.rendered_once(BODY, board=renamed)
    assert rendered.count(BODY) == 2
    assert "&lt;script&gt;alert(1)&lt;/script&gt;镇" in html and "<script>alert" not in html
    assert common.rendered_once(BODY, board=board) is first  # the first board's body is still kept


def test_a_text_is_an_answer_by_its_value() -> None:
    rows: list[object] = []
    overdue = common.rendered_once("partials/queue_table.html", rows=rows, empty="没有超期案件。")
    soon = common.rendered_once("partials/queue_table.html", rows=rows, empty="没有临期案件。")
    assert "没有超期案件。" in overdue and "没有临期案件。" in soon
    same_text = "".join(["没有超期", "案件。"])  # an equal string, another object
    assert common.rendered_once("partials/queue_table.html", rows=rows, empty=same_text) is overdue
    assert common.rendered_once("partials/queue_table.html", rows=[], empty="没有超期案件。") is not overdue
