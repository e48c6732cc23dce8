"""The Markdown pieces of the cards: cells stay one line and safe, tables align, card files parse."""

from __future__ import annotations

from biomed_vital.hub.markdown import card_file_text, cell, key_value_table
from tests.hub.helpers import SECRET, front_matter


def test_a_cell_is_one_escaped_redacted_line_of_at_most_120_characters():
    assert cell("a | b\nc") == "a \\| b c"
    assert cell(f"key {SECRET}") == "key [redacted]"
    long = cell("x" * 500)
    assert len(long) == 120 and long.endswith("...")
    assert cell(0.5) == "0.5"


def test_key_value_table_formats_metrics_and_redacts_by_name():
    lines = key_value_table(
        "Evaluation", ("metric", "value"), {"accuracy": 0.812345, "steps": 10}, numbers_right=True
    )
    assert lines == [
        "## Evaluation",
        "",
        "| metric | value |",
        "|---|---:|",
        "| accuracy | 0.8123 |",
        "| steps | 10 |",
        "",
    ]
    settings = key_value_table(
        "Training", ("setting", "value"), {"learning_rate": 0.000123456, "hf_token": "v"}
    )
    assert "| learning_rate | 0.000123456 |" in settings and "| hf_token | [redacted] |" in settings


def test_card_file_text_has_a_yaml_header_that_parses():
    text = card_file_text("license: other\ntags:\n- biomed_vital", ["# Title", "", "Body."])
    assert front_matter(text) == {"license": "other", "tags": ["biomed_vital"]}
    assert text.endswith("---\n\n# Title\n\nBody.")
