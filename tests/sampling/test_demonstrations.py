"""The demonstrations: select_demonstrations from annotation records, and the generator taking the result."""

from __future__ import annotations

import warnings

import pytest

from biomed_vital.sampling import DemonstrationPool, load_demonstrations, select_demonstrations
from biomed_vital.sampling.demonstrations import Demonstration
from tests.annotation.conftest import make_candidates


def pairwise(pair: int, turn: int, choice: str, annotator: str = "rad-1", *, swapped: bool = False) -> dict:
    a, b = f"fig{pair}-c0-A", f"fig{pair}-c0-B"
    if swapped:
        a, b = b, a
    return {
        "figure_id": f"fig{pair}",
        "question": f"Synthetic question {turn + 1} about figure {pair}?",
        "candidate_id_a": a,
        "candidate_id_b": b,
        "choice": choice,
        "annotator": annotator,
    }


def mark(pair: int, turn: int, variant: str, accepted: bool, annotator: str = "rad-1") -> dict:
    return {
        "figure_id": f"fig{pair}",
        "question": f"Synthetic question {turn + 1} about figure {pair}?",
        "candidate_id": f"fig{pair}-c0-{variant}",
        "accepted": accepted,
        "annotator": annotator,
    }


def test_a_conversation_with_an_approved_answer_to_every_question_becomes_a_demonstration() -> None:
    candidates = make_candidates(pairs=2)
    records = [
        pairwise(0, 0, "A"),
        pairwise(0, 1, "A", swapped=True),  # variant B shown as A and preferred
        mark(0, 2, "A", True),
        pairwise(1, 0, "A"),  # figure 1: question 2 has no approved answer
        pairwise(1, 1, "both_bad"),
        mark(1, 2, "B", True),
    ]
    demonstrations = select_demonstrations(candidates, records)
    assert demonstrations["id"] == ["fig0"]
    messages = demonstrations[0]["messages"]
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    assert answers == [
        "Synthetic answer A1 for figure 0 (stand-in).",
        "Synthetic answer B2 for figure 0 (stand-in).",
        "Synthetic answer A3 for figure 0 (stand-in).",
    ]
    assert demonstrations[0]["source_candidate_ids"] == ["fig0-c0-A", "fig0-c0-B"]
    assert demonstrations[0]["annotators"] == ["rad-1"]
    assert {"image", "caption", "mentions", "modality"} <= set(demonstrations.column_names)
    assert "candidate_id" not in demonstrations.column_names and "pair_id" not in demonstrations.column_names


def test_a_rejected_answer_is_never_used_even_when_preferred_elsewhere() -> None:
    candidates = make_candidates(pairs=1)
    records = [pairwise(0, t, "A") for t in range(3)] + [mark(0, 1, "A", False, annotator="rad-2")]
    with pytest.raises(ValueError, match="no conversation has an approved answer"):
        select_demonstrations(candidates, records)
    records.append(mark(0, 1, "B", True, annotator="rad-2"))
    demonstrations = select_demonstrations(candidates, records)
    assert demonstrations[0]["messages"][3]["content"] == "Synthetic answer B2 for figure 0 (stand-in)."
    assert demonstrations[0]["annotators"] == ["rad-1", "rad-2"]


def test_per_modality_keeps_the_most_approved_figures_of_each_modality() -> None:
    candidates = make_candidates(pairs=8)  # modalities cycle over 4: two figures each
    records = [pairwise(p, t, "A") for p in range(8) for t in range(3)]
    records += [mark(p, t, "A", True, annotator="rad-2") for p in (4, 5) for t in range(3)]
    one_each = select_demonstrations(candidates, records, per_modality=1)
    assert sorted(one_each["id"]) == ["fig2", "fig3", "fig4", "fig5"]  # 4 and 5 beat 0 and 1 on approvals
    assert sorted(one_each["modality"]) == ["chest_xray", "ct_scan", "histology", "mri"]
    assert len(select_demonstrations(candidates, records, per_modality=2)) == 8
    only_ct = select_demonstrations(candidates, records, per_modality={"ct_scan": 2})
    assert sorted(only_ct["id"]) == ["fig0", "fig4"]


def test_the_answers_of_failed_candidates_are_never_used() -> None:
    candidates = make_candidates(pairs=2, failed_pair=1)  # variant B of figure 1 failed
    records = [pairwise(p, t, "B") for p in range(2) for t in range(3)]
    assert select_demonstrations(candidates, records)["id"] == ["fig0"]


def test_the_generator_takes_the_selected_demonstrations_as_they_are(tmp_path) -> None:
    from biomed_vital.generation import GPT4VGenerator

    candidates = make_candidates(pairs=2)
    records = [pairwise(p, t, "B") for p in range(2) for t in range(3)]
    demonstrations = select_demonstrations(candidates, records)
    generator = GPT4VGenerator(
        "stand-in", api_key="sk-test", base_url="http://127.0.0.1:9/v1", demonstrations=demonstrations
    )
    assert isinstance(generator.demonstrations, DemonstrationPool)
    assert len(generator.demonstrations) == 2
    body = generator.build_requests(make_candidates(pairs=1).select([0]))[0].build()
    texts = [m["content"] for m in body["messages"] if m["role"] == "assistant"]
    assert any("Synthetic answer B1 for figure 0" in text for text in texts)
    demonstrations.save_to_disk(str(tmp_path / "demonstrations"))
    assert len(load_demonstrations(str(tmp_path / "demonstrations"))) == 2


def test_the_prompt_hash_of_a_demonstration_is_unchanged_by_the_move() -> None:
    from biomed_vital.generation.prompts import GENERATION_SYSTEM_PROMPT, prompt_sha

    demonstration = Demonstration(
        id="d1",
        caption="Synthetic caption (stand-in).",
        mentions=("Synthetic mention.",),
        modality="ct_scan",
        messages=(("user", "Synthetic question?"), ("assistant", "Synthetic answer.")),
    )
    # the value the generator computed before the demonstrations moved to biomed_vital.sampling
    expected = "46cd097ca9eca6a8b6f3a892cd994ce7a5cda9fffdf283ef0d999fd12123c011"
    assert prompt_sha(GENERATION_SYSTEM_PROMPT, [demonstration]) == expected


def test_the_old_import_paths_work_for_one_release_with_a_warning() -> None:
    import biomed_vital.generation as generation
    import biomed_vital.generation.prompts as prompts

    for module in (generation, prompts):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert module.DemonstrationPool is DemonstrationPool
        assert any("biomed_vital.sampling.demonstrations" in str(w.message) for w in caught)
    import biomed_vital

    assert biomed_vital.DemonstrationPool is DemonstrationPool
    assert biomed_vital.select_demonstrations is select_demonstrations


def test_the_released_demonstrations_load_as_text_only_without_an_error_count(
    clinician_demonstrations_path, caplog
) -> None:
    import logging

    from biomed_vital.generation import GPT4VGenerator

    with caplog.at_level(logging.INFO, logger="biomed_vital"):
        generator = GPT4VGenerator(
            "stand-in", api_key="sk-test", demonstrations=str(clinician_demonstrations_path)
        )
    assert len(generator.demonstrations) == 58
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert "with errors" not in caplog.text and "image not found" not in caplog.text
    assert "58 demonstrations, text-only (their images are not loaded" in caplog.text


def test_attaching_demonstration_images_looks_for_them_and_says_they_are_missing(
    clinician_demonstrations_path, caplog
) -> None:
    from biomed_vital.generation import GPT4VGenerator

    GPT4VGenerator(
        "stand-in",
        api_key="sk-test",
        demonstrations=str(clinician_demonstrations_path),
        attach_demonstration_images=True,
    )
    assert "58 rows, 58 with errors (image not found: 58)" in caplog.text  # true when the images are wanted


def test_a_text_only_load_keeps_the_image_reference_for_a_later_load(clinician_demonstrations_path) -> None:
    from biomed_vital.data import load_figures

    text_only = load_figures(clinician_demonstrations_path, text_only=True)
    assert text_only["image"] == [None] * 58 and text_only["error"] == [""] * 58
    record = next(iter(text_only))
    assert '"image": "' in record["extra"]
    # the reference was kept: a Dataset's file references are read only inside the folders allowed...
    refused = load_figures(text_only)
    assert refused[0]["error"].startswith(
        "image file reference outside the allowed image folders: 28104940_F2.jpg"
    )
    # ... and inside one it is looked for (the demonstrations' PMC images are not shipped)
    with_images = load_figures(text_only, image_root=clinician_demonstrations_path.parent)
    assert with_images[0]["error"].startswith("image not found")
