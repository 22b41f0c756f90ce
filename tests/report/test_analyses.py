"""The "Additional analyses" section: supplementary tables, shown only when present."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from featcls.evaluation import ComparisonResult
from featcls.report import SECTIONS, render_report, write_outputs
from tests.report.conftest import SCRIPT, Page, make_result, section_titles


def _with_tables() -> ComparisonResult:
    result = make_result()
    result.add_table(
        "Drop one feature family",
        pd.DataFrame(
            {
                "dropped": ["none", "shape", "lbp"],
                "f1_macro": [0.81234, np.nan, 0.7],
                "n_features": [120, 100, 90],
                "p": [1.2e-5, 0.5, 2e6],
            }
        ),
        note="logreg on the same 3 folds; one family left out at a time.",
    )
    result.add_table("Empty", pd.DataFrame({"a": []}))
    return result


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="section-{section_id}">')
    return html[start : html.index("</section>", start)]


def test_tables_are_rendered_with_title_note_and_formatted_cells():
    result = _with_tables()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        html = render_report(result)
    page = Page(html)
    assert page.h2 == section_titles(result)
    assert "Additional analyses" in page.h2
    assert 'href="#section-analyses"' in html
    part = _section(html, "analyses")
    assert "<h3>Drop one feature family</h3>" in part
    assert "logreg on the same 3 folds; one family left out at a time." in part
    assert '<td class="num">0.812</td>' in part  # 3 decimals
    assert '<td class="num">—</td>' in part  # NaN
    assert '<td class="num">120</td>' in part  # integers stay whole
    assert '<td class="num">1.2e-05</td>' in part and "2e+06" in part
    assert "<td>shape</td>" in part  # text columns are left-aligned
    assert "This table has no rows." in part


def test_section_sits_after_the_pairwise_tests_and_before_the_environment():
    ids = [s.id for s in SECTIONS]
    assert ids.index("pairwise") < ids.index("analyses") < ids.index("environment")
    titles = Page(render_report(_with_tables())).h2
    # right after the comparison's own answer: pairwise tests, (curves,) cost
    assert titles.index("Pairwise tests") < titles.index("Additional analyses")
    assert titles.index("Cost and quality") + 1 == titles.index("Additional analyses")


def test_no_tables_no_section():
    result = make_result()
    html = render_report(result)
    assert "Additional analyses" not in html
    assert 'id="section-analyses"' not in html
    assert Page(html).h2 == section_titles(result)


def test_tables_survive_write_outputs_and_rerender(tmp_path):
    result = _with_tables()
    paths = write_outputs(result, tmp_path)
    again = ComparisonResult.from_json(paths["results"])
    assert again.tables == result.tables
    html = render_report(again)
    assert _section(html, "analyses") == _section(
        paths["report"].read_text(encoding="utf-8"), "analyses"
    )


def test_table_strings_are_escaped(hostile_html):
    part = _section(hostile_html, "analyses")
    assert SCRIPT not in part
    assert "<h3>Ablation &lt;script&gt;alert(1)&lt;/script&gt;</h3>" in part
    assert "dropped one family &lt;script&gt;" in part
    assert "a&amp;b&#34;c&#39;" in part  # an index value, now the first column


def test_hand_edited_tables_do_not_sink_the_report():
    result = make_result(
        tables=[
            {"title": "ragged", "columns": ["a"], "rows": [[1, 2], "x", [None]]},
            {"rows": [[0.5]]},
            "not a table",
        ]
    )
    html = render_report(result)
    assert "could not be rendered" not in html
    part = _section(html, "analyses")
    assert "<h3>ragged</h3>" in part and "<h3>untitled table</h3>" in part
