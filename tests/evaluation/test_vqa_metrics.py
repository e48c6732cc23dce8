"""VQA metrics on hand-checked cases, including the negation traps, as functions and as evaluate modules."""

from __future__ import annotations

import pytest

from biomed_vital.evaluation import (
    METRIC_NAMES,
    bleu,
    closed_accuracy,
    closed_correct,
    exact_match,
    extract_yes_no,
    metric_path,
    normalize_answer,
    open_recall,
    token_f1,
    token_recall,
)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Yes.", "yes"),
        ("yes, the lesion enhances", "yes"),
        ("No", "no"),
        ("No, there is no evidence of pneumothorax.", "no"),
        # negations mean "no", with word boundaries
        ("There is no evidence of a fracture.", "no"),
        ("The heart is not enlarged.", "no"),
        ("The heart isn't enlarged.", "no"),
        ("Pneumothorax is absent.", "no"),
        ("The study is negative for metastasis.", "no"),
        ("It cannot be seen.", "no"),
        # the traps: words that merely contain "no" are no answer at all
        ("A nodule is seen in the left upper lobe.", None),
        ("Normal heart size.", None),
        ("I know the anatomy shown here.", None),
        ("The answer is yes; there is no other lesion.", "yes"),
        ("Final answer: no", "no"),
        # both a yes and a negation without an explicit answer: ambiguous
        ("I would say yes, although it is not certain.", None),
        ("", None),
        (None, None),
    ],
)
def test_extract_yes_no(reply, expected):
    assert extract_yes_no(reply) == expected


def test_closed_correct_handles_the_traps_that_substring_matching_gets_wrong():
    # a substring check ("no" in reply) counts all three as answering "no"
    assert not closed_correct("A nodule is present.", "no")
    assert not closed_correct("The findings are normal.", "no")
    assert not closed_correct("Yes, it is not small.", "no")
    # and ("yes" in reply) fails a negated yes
    assert closed_correct("No, the eyes are not affected.", "no")
    assert not closed_correct("No, the eyes are not affected.", "yes")


def test_closed_correct_for_choice_answers_uses_whole_words_and_refuses_a_negated_choice():
    assert closed_correct("The image is an axial slice.", "Axial")
    assert not closed_correct("This is a biaxial view.", "axial")
    assert not closed_correct("Not left, the right kidney.", "left")
    assert closed_correct("Not the right one but the left kidney.", "left")
    assert not closed_correct("anything", "")


def test_closed_accuracy_hand_checked():
    replies = ["No.", "There is no mass.", "Nodular opacity.", "Yes", "The answer is yes"]
    references = ["no", "no", "no", "yes", "no"]
    # correct: 1, 2, 4 -> 3 of 5
    assert closed_accuracy(replies, references) == pytest.approx(0.6)


def test_normalize_answer():
    assert normalize_answer("The Left  Lung, two nodules.") == "left lung 2 nodules"
    assert normalize_answer("1,000 ml (2.5 L)") == "1000 ml 2.5 l"
    assert normalize_answer("T2-weighted") == "t2 weighted"
    assert normalize_answer(None) == ""


def test_open_recall_counts_reference_tokens_found_in_the_reply():
    assert token_recall("A mass in the right upper lobe.", "right lower lobe") == pytest.approx(2 / 3)
    # repeats in the reply do not inflate recall (each reference token counts once per occurrence in the reference)
    assert token_recall("left left left", "left lung") == pytest.approx(0.5)
    assert token_recall("anything", "") == 0.0
    assert open_recall(
        ["Right lower lobe pneumonia.", "CT scan"], ["right lower lobe", "MRI"]
    ) == pytest.approx(0.5)


def test_exact_match_and_token_f1_hand_checked():
    assert exact_match(["The liver.", "liver lesion", "Two"], ["liver", "liver", "2"]) == pytest.approx(2 / 3)
    # P = 3/4, R = 3/3 -> F1 = 2 * 0.75 / 1.75
    assert token_f1(["right lower lobe mass"], ["right lower lobe"]) == pytest.approx(6 / 7)
    # counts are clipped: "lobe lobe" vs "lobe": P = 1/2, R = 1 -> 2/3
    assert token_f1(["lobe lobe"], ["lobe"]) == pytest.approx(2 / 3)
    assert token_f1(["kidney"], ["liver"]) == 0.0


def test_bleu_hand_checked():
    # p1 = 3/4, p2 = 2/3, p3 = 1/2, p4 = 0/1 -> 1/2 (exponential smoothing); BP = 1
    # (0.75 * 2/3 * 0.5 * 0.5) ** 0.25 = 0.125 ** 0.25
    assert bleu(["left lung shows consolidation"], ["right lung shows consolidation"]) == pytest.approx(
        0.125**0.25
    )
    assert bleu(["pleural effusion"], ["pleural effusion"]) == pytest.approx(1.0)
    assert bleu(["kidney"], ["liver"]) == 0.0


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        exact_match(["a", "b"], ["a"])


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_evaluate_modules_load_offline_by_path_and_match_the_functions(name, monkeypatch, tmp_path):
    import evaluate

    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    predictions = ["No, there is no evidence of a fracture.", "right lower lobe mass", "Nodular opacity."]
    references = ["no", "right lower lobe", "no"]
    functions = {
        "vqa_closed_accuracy": ("closed_accuracy", closed_accuracy),
        "vqa_open_recall": ("open_recall", open_recall),
        "vqa_exact_match": ("exact_match", exact_match),
        "vqa_token_f1": ("token_f1", token_f1),
        "vqa_bleu": ("bleu", bleu),
    }
    key, function = functions[name]
    metric = evaluate.load(metric_path(name))
    result = metric.compute(predictions=predictions, references=references)
    assert result == {key: pytest.approx(function(predictions, references))}


def test_metric_modules_keep_one_import_per_line():
    # evaluate's dependency scanner misreads "import a, b" as a missing package "a,"
    for name in METRIC_NAMES:
        with open(metric_path(name), encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("import "):
                    assert "," not in line, f"{name}: {line!r}"


def test_unknown_metric_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown metric 'accuracy'"):
        metric_path("accuracy")
