"""Every user-given string reaches the page escaped; unsafe image URIs are dropped."""

from __future__ import annotations

import pytest

from featcls.evaluation import ComparisonResult
from featcls.report import render_report, write_outputs
from tests.report.conftest import HOSTILE_MODEL, QUOTES, SCRIPT, Page, make_result


def test_script_never_appears_unescaped(hostile_html):
    html = hostile_html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE_MODEL not in html
    assert "&lt;b&gt;cnn&lt;/b&gt;" in html
    assert "<i>anything</i>" not in html


def test_quotes_and_ampersands_are_escaped(hostile_html):
    html = hostile_html
    assert QUOTES not in html
    assert "a&amp;b&#34;c&#39;" in html


def test_no_injected_tags_or_attributes(hostile_html):
    page = Page(hostile_html)
    assert not [t for t, _ in page.tags if t in ("script", "i", "iframe")]
    assert not [a for _, a in page.tags if any(k.startswith("on") for k in a)]
    # the one <b> tags allowed are ours: no <b> inside a model-name cell
    assert all(row[1] != "cnn" for row in page.leaderboard)


def test_unsafe_image_uris_are_dropped(hostile_html):
    html = hostile_html
    assert "javascript:" not in html
    assert "evil.example" not in html
    page = Page(html)
    assert all(s.startswith("data:image/") for s in page.attributes("src"))


def test_command_and_traceback_are_text(hostile_html):
    html = hostile_html
    assert (
        "featcls compare --classes &#39;&lt;script&gt;alert(1)&lt;/script&gt;"
        "&#39; &amp;&amp; echo"
    ) in html
    assert "CUDA out of memory &lt;script&gt;" in html
    assert SCRIPT not in html


def test_title_is_escaped_text(hostile_html):
    head = hostile_html[: hostile_html.index("</title>")]
    assert "<title>featcls comparison — dataset &lt;script&gt;" in head


def test_safe_thumbnails_are_kept(hostile_result, hostile_html):
    page = Page(hostile_html)
    kept = [a for t, a in page.tags if t == "img" and "onerror" not in a]
    thumbs = [a for a in kept if a.get("src", "").startswith("data:image/png")]
    # every stored example except the two unsafe ones (indices 1 and 2) is shown
    examples = [i for v in hostile_result.dataset["examples"].values() for i in v]
    assert len({a["src"] for a in thumbs}) >= len(examples) - 2
    assert page.attributes("alt").count("<img src=x onerror=alert(1)>.png") >= 1


def test_escaping_survives_the_json_round_trip(hostile_result, tmp_path):
    paths = write_outputs(hostile_result, tmp_path)
    again = render_report(ComparisonResult.from_json(paths["results"]))
    assert "<script" not in again.lower()
    assert Page(again).leaderboard == Page(paths["report"].read_text()).leaderboard


@pytest.mark.parametrize("name", ["$x^2$", "cost $5", "back\\slash", "{braces}", "_"])
def test_mathtext_characters_in_names_are_plain_text(name):
    result = make_result(classes=[name, "other"], n=12, cv=2)
    result.importances = {"good": {"gain": {f"{name}__f": 1.0}}}
    html = render_report(result)
    assert "could not be rendered" not in html
    assert html.count(">" + name.replace("&", "&amp;") + "<") >= 1
