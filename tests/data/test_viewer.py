"""write_html_report: one self-contained page per Dataset, with every row's image, conversation and scores.

The browser side (filters, sorting, the screenshot in the docs) is tests/data/test_viewer_browser.py.
Rows are real fixture images with synthetic, labelled conversations and scores.
"""

from __future__ import annotations

import re

import pytest
from datasets import Dataset, Features, Image, List, Value

from biomed_vital.data import write_html_report

pytest.importorskip("PIL")


def scored_rows(fixture_images, n: int) -> Dataset:
    """n judged-and-scored candidates: real images, synthetic conversations and scores."""
    names = sorted(fixture_images)
    rows = {
        "id": [f"fig{i}" for i in range(n)],
        "candidate_id": [f"fig{i}-c0" for i in range(n)],
        "image": [str(fixture_images[names[i % len(names)]]) for i in range(n)],
        "caption": [f"(synthetic caption {i})" for i in range(n)],
        "mentions": [[] for _ in range(n)],
        "modality": [("ct_scan", "mri", "histology")[i % 3] for i in range(n)],
        "messages": [
            [
                {"role": "user", "content": f"(synthetic question {i})"},
                {"role": "assistant", "content": f"(synthetic answer {i})"},
            ]
            for i in range(n)
        ],
        "judge_score": [float(i % 10) for i in range(n)],
        "judge_rationale": [f"(synthetic rationale {i})" for i in range(n)],
        "judge_turn_scores": [[float(i % 10)] for i in range(n)],
        "selector_score": [i / n for i in range(n)],
    }
    features = Features(
        {
            "id": Value("string"),
            "candidate_id": Value("string"),
            "image": Image(),
            "caption": Value("string"),
            "mentions": List(Value("string")),
            "modality": Value("string"),
            "messages": List({"role": Value("string"), "content": Value("string")}),
            "judge_score": Value("float64"),
            "judge_rationale": Value("string"),
            "judge_turn_scores": List(Value("float64")),
            "selector_score": Value("float64"),
        }
    )
    return Dataset.from_dict(rows, features=features)


def articles(page: str) -> list[str]:
    return re.findall(r'<article class="row" [^>]*>', page)


def test_a_page_holds_every_row_with_its_thumbnail_conversation_and_scores(tmp_path, fixture_images):
    rows = scored_rows(fixture_images, 12)
    kept = [score >= 0.5 for score in rows["selector_score"]]

    path = write_html_report(rows, tmp_path / "page" / "report.html", kept=kept, title="Synthetic selection")

    page = path.read_text()
    assert len(articles(page)) == 12
    assert page.count('src="data:image/jpeg;base64,') == 12
    assert "(synthetic question 7)" in page and "(synthetic rationale 7)" in page
    assert 'data-kept="kept"' in page and 'data-kept="dropped"' in page
    assert '<svg id="histogram"' in page and "12 rows; 6 kept, 6 dropped" in page
    assert '<option value="histology">histology</option>' in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing is fetched from elsewhere


def test_text_is_escaped(tmp_path, fixture_images):
    rows = scored_rows(fixture_images, 2).map(lambda row: {"caption": "<script>alert('synthetic')</script>"})
    page = write_html_report(rows, tmp_path / "report.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_a_large_pool_is_sampled_along_the_score_ranking(tmp_path, fixture_images):
    rows = scored_rows(fixture_images, 60)
    page = write_html_report(rows, tmp_path / "report.html", max_rows=7).read_text()
    shown = articles(page)
    assert len(shown) == 7
    assert 'data-selector="0.9833"' in page and 'data-selector="0"' in page  # the best and the worst
    assert "this page shows 7 of them spread along the selector score" in page


def test_rows_without_images_or_scores_still_show(tmp_path):
    figures = Dataset.from_dict({"id": ["a", "b"], "caption": ["(synthetic)", ""], "image": [None, None]})
    page = write_html_report(figures, tmp_path / "figures.html").read_text()
    assert len(articles(page)) == 2 and page.count("no image") == 2 and "<svg" not in page


def test_kept_flags_must_match_the_rows(tmp_path, fixture_images):
    with pytest.raises(ValueError, match="kept has 3 flags for 4 rows"):
        write_html_report(scored_rows(fixture_images, 4), tmp_path / "x.html", kept=[True] * 3)
