"""Every figure has a written definition, and the docs show the current definitions."""

from __future__ import annotations

from pathlib import Path

from report_cases import at, enter, resolved_path

from mediation_flow.stats.definitions import definitions_markdown, load_definitions
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.scope import year_scope

DOCS = Path(__file__).resolve().parent.parent / "docs" / "statistics.md"


def test_docs_match_the_definitions():
    assert DOCS.read_text("utf-8") == definitions_markdown()


def test_every_computed_figure_and_breakdown_is_defined(sqlite_engine):
    from factories import make_town

    town = make_town(sqlite_engine)
    enter(sqlite_engine, town, at(2023, 3, 1), resolved_path(town, at(2023, 3, 2)))
    with sqlite_engine.connect() as conn:
        figures = compute_figures(conn, year_scope(conn, code=town.places.township.code, year=2023))
    defined = set(load_definitions().figures)
    computed = {k.removesuffix("_fen") for k in figures.values} | {
        "monthly" if k.startswith("monthly_") else k for k in figures.breakdowns
    }
    assert computed - defined == set()
    for definition in load_definitions().figures.values():
        assert definition.label and definition.numerator and definition.date and definition.unit
