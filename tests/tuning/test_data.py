"""Training rows from every stage and from LLaVA JSON; mixtures with ratios; what each source contributed."""

from __future__ import annotations

import json
import logging

import pytest
from datasets import Dataset, Features, Value

from biomed_vital.data import to_llava_json
from biomed_vital.tuning import (
    DATA_SOURCE,
    caption_rows,
    load_training_data,
    mix_training_data,
    training_rows,
    training_sources,
)


@pytest.fixture(scope="module")
def candidates(short_conversations) -> Dataset:
    """Candidate rows (the generator's columns) from real conversations; two rows failed or unanswered."""
    rows = short_conversations.select(range(6)).to_list()
    for row in rows:
        row["candidate_id"] = f"{row['id']}-0"
        row["status"] = "ok"
        row["error"] = ""
    rows[1]["status"], rows[1]["error"] = "error", "the endpoint returned 500"  # synthetic failure
    rows[2]["messages"] = rows[2]["messages"][:1]  # a question without an answer
    rows[3]["messages"][0]["content"] = "<image>\n" + rows[3]["messages"][0]["content"]
    features = Features(
        {
            **short_conversations.features,
            **{name: Value("string") for name in ("candidate_id", "status", "error")},
        }
    )
    return Dataset.from_list(rows, features=features)


def test_training_rows_keep_good_candidates_and_say_which_were_left_out(candidates, caplog):
    with caplog.at_level(logging.WARNING, logger="biomed_vital.tuning"):
        rows = training_rows(candidates, source="candidates/")
    assert rows.column_names == ["images", "messages", DATA_SOURCE]
    assert len(rows) == 4
    assert set(rows[DATA_SOURCE]) == {"candidates/"}
    assert (
        "left out 2 of 6 rows" in caplog.text
        and "status 'error'" in caplog.text
        and "no answer" in caplog.text
    )
    assert candidates[1]["candidate_id"] in caplog.text
    assert all(len(images) == 1 and images[0].size == (32, 32) for images in rows["images"])
    first_questions = [messages[0]["content"] for messages in rows["messages"]]
    assert not any("<image>" in question for question in first_questions)
    with_literal = candidates[3]["messages"]
    assert with_literal[0]["content"].startswith("<image>\n")
    assert rows[1]["messages"] == [
        {"role": "user", "content": with_literal[0]["content"].removeprefix("<image>\n")},
        *with_literal[1:],
    ]
    with pytest.raises(ValueError, match="left out 2 of 6 rows"):
        training_rows(candidates, drop_failed=False)


def test_training_rows_need_images_and_conversations():
    with pytest.raises(ValueError, match="cannot train on this Dataset"):
        training_rows(Dataset.from_dict({"id": ["a"], "caption": ["(synthetic caption)"]}), source="figures/")


def test_caption_rows_pair_real_captions_with_brief_requests(demonstration_conversations):
    figures = demonstration_conversations.select(range(8))
    rows = caption_rows(figures, source="captions", seed=1)
    captions = [c.strip() for c in figures["caption"] if c.strip()]
    assert [messages[1]["content"] for messages in rows["messages"]] == captions
    assert all(messages[0]["role"] == "user" and messages[0]["content"] for messages in rows["messages"])
    assert caption_rows(figures, source="captions", seed=1)["messages"] == rows["messages"]  # seeded


def test_llava_json_loads_through_the_data_layer(tmp_path, short_conversations):
    exported = to_llava_json(short_conversations.select(range(5)), tmp_path / "llava_train.json")
    record = json.loads(exported.read_text())[0]
    assert record["conversations"][0]["value"].startswith("<image>\n")
    rows = load_training_data(exported)
    assert len(rows) == 5
    assert rows[0]["messages"][0]["content"] == short_conversations[0]["messages"][0]["content"]
    assert rows[0]["images"][0].size == (32, 32)
    assert training_sources(rows) == [
        {"source": str(exported), "stage": "figures", "rows": 5, "rows_available": 5}
    ]


def test_alignment_stage_reads_figures_without_conversations(tmp_path, demonstration_conversations):
    figures = demonstration_conversations.select(range(4)).remove_columns("messages")
    figures.save_to_disk(tmp_path / "figures")
    rows = load_training_data(tmp_path / "figures", stage="alignment")
    assert [m[1]["content"] for m in rows["messages"]] == [c.strip() for c in figures["caption"]]


def test_selected_stage_records_selector_and_selection_ratio(tmp_path, candidates):
    selected = candidates.select([0, 3, 4]).add_column("selector_score", [0.9, 0.8, 0.7])
    out = tmp_path / "selected"
    selected.save_to_disk(out / "data")
    (out / "report").mkdir()
    summary = {"candidates": 12, "scored": 12, "kept": 3, "top_fraction": 0.25, "threshold": None}
    (out / "report" / "selection_summary.json").write_text(json.dumps(summary))
    rows = load_training_data(out / "data", selector="user/vital-selector")
    (source,) = training_sources(rows)
    assert source["stage"] == "selected"
    assert source["selector"] == "user/vital-selector"
    assert source["selection_ratio"] == 0.25
    assert source["min_selector_score"] == pytest.approx(0.7)
    assert source["rows"] == 3


def test_mixing_takes_each_source_at_its_ratio(tmp_path, short_conversations):
    first = training_rows(short_conversations.select(range(8)), source="vital-80k")
    second = training_rows(short_conversations.select(range(8, 12)), source="llava-med-60k")
    mixed = mix_training_data([first, second], ratios=[0.5, 2.0], seed=3)
    counts = {name: mixed[DATA_SOURCE].count(name) for name in ("vital-80k", "llava-med-60k")}
    assert counts == {"vital-80k": 4, "llava-med-60k": 8}
    recorded = {s["source"]: (s["rows"], s["ratio"]) for s in training_sources(mixed)}
    assert recorded == {"vital-80k": (4, 0.5), "llava-med-60k": (8, 2.0)}
    again = mix_training_data([first, second], ratios=[0.5, 2.0], seed=3)
    assert again["messages"] == mixed["messages"]
    everything = mix_training_data([first, second])
    assert len(everything) == 12
    saved = tmp_path / "mixed"
    mixed.select(range(6)).save_to_disk(saved)  # a subset, saved and loaded: the record follows, recounted
    from datasets import load_from_disk

    recounted = {s["source"]: s["rows"] for s in training_sources(load_from_disk(saved))}
    assert sum(recounted.values()) == 6 and set(recounted) == {"vital-80k", "llava-med-60k"}


@pytest.mark.parametrize(
    ("ratios", "message"), [([1.0], "one ratio per Dataset"), ([1.0, 0.0], "must be > 0")]
)
def test_mixing_rejects_bad_ratios(short_conversations, ratios, message):
    rows = training_rows(short_conversations.select(range(2)))
    with pytest.raises(ValueError, match=message):
        mix_training_data([rows, rows], ratios=ratios)


def test_training_sources_count_the_source_column_when_nothing_was_recorded():
    rows = Dataset.from_dict({DATA_SOURCE: ["a", "b", "a"]})
    assert training_sources(rows) == [{"source": "a", "rows": 2}, {"source": "b", "rows": 1}]
    assert training_sources(Dataset.from_dict({"x": [1]})) == [{"source": "(in memory)", "rows": 1}]
