"""The evaluation judges and the answerer on the shared request engine, against the stand-in server."""

from __future__ import annotations

import pytest

from biomed_vital.evaluation import (
    OpenChatJudge,
    PairwiseJudge,
    QuestionAnswerer,
    join_answers,
    pair_answers,
    pairwise_win_rate,
    read_answers,
    read_questions,
    regenerate_references,
    relative_scores,
    write_answers,
)


def _options(server, tmp_path):
    return {
        "base_url": server.base_url,
        "api_key": "sk-offline",
        "cache_dir": str(tmp_path / "cache"),
        "show_progress": False,
    }


def _answers(questions, tmp_path, model, grounded):
    """An answer file whose answers quote the caption (grounded) or quote nothing."""
    rows = []
    for row in questions:
        text = (
            f"The caption reads: {row['caption']}" if grounded else "(synthetic answer that quotes nothing)"
        )
        rows.append({"question_id": row["question_id"], "answer": text, "model_id": model})
    return write_answers(rows, tmp_path / f"{model}.jsonl")


def test_open_chat_judge_reviews_scores_and_resumes_from_cache(server, demo_questions, tmp_path):
    questions = read_questions(demo_questions)
    samples = join_answers(questions, read_answers(_answers(questions, tmp_path, "ungrounded", False)))
    judge = OpenChatJudge("gpt-4o", **_options(server, tmp_path))
    estimate = judge.estimate_cost(samples)
    assert estimate.n_requests == len(samples) == 18
    reviewed = judge.review(samples)
    assert set(reviewed["review_status"][:]) == {"ok"}
    assert all(r.splitlines()[0].count(" ") == 1 for r in reviewed["review"][:])
    scores = relative_scores(reviewed)
    assert scores.overall.n == 18 and not scores.unscorable
    ratios = [m / r for r, m in zip(reviewed["reference_score"][:], reviewed["model_score"][:], strict=True)]
    assert scores.overall.relative_score == pytest.approx(100 * sum(ratios) / len(ratios))
    # the reference quotes the caption, the answers quote nothing: the stand-in's reviews rank them so
    assert scores.overall.reference_mean > scores.overall.model_mean
    assert set(scores.by_type) == {"conversation", "detailed_description"}
    assert {"ct_scan", "mri", "histology", "no_domain"} <= set(scores.by_domain)
    # the request text carries the figure context, the question, reference as assistant 1 and answer as 2
    text = judge.format_input(samples[0])["messages"][1]["content"]
    assert text.index("[Assistant 1]") < text.index("The caption reads") < text.index("[Assistant 2]")
    # a second run is answered from the cache: nothing is sent
    sent_before = len(server.request_log())
    again = OpenChatJudge("gpt-4o", **_options(server, tmp_path)).review(samples)
    assert len(server.request_log()) == sent_before
    assert again["review"][:] == reviewed["review"][:]
    assert judge.to_dict()["prompt_sha"] == judge.prompt_sha and "sk-offline" not in str(judge.to_dict())


def test_replies_without_two_scores_are_counted_and_listed_never_scored(
    format_ignoring_server, demo_questions, tmp_path
):
    # replies in prose with no score on the first line are unscorable for LLaVA-Med's protocol
    questions = read_questions(demo_questions)
    samples = join_answers(questions, read_answers(_answers(questions, tmp_path, "m", True)))
    reviewed = OpenChatJudge("gpt-4o", **_options(format_ignoring_server, tmp_path)).review(samples)
    assert set(reviewed["review_status"][:]) == {"error"}
    assert reviewed["reference_score"][:] == [None] * 18
    scores = relative_scores(reviewed)
    assert scores.overall.n == 0 and scores.overall.relative_score is None
    assert len(scores.unscorable) == 18
    assert all("holds 0 numbers" in item.reason for item in scores.unscorable)
    assert scores.unscorable[0].reply.startswith("The offline stand-in could not rate")


def test_unanswered_questions_are_not_sent_and_stay_listed(server, data_dir, tmp_path):
    questions = read_questions(data_dir / "llava_med_questions.jsonl")
    samples = join_answers(questions, read_answers(data_dir / "llava_med_answers.jsonl"))
    judge = OpenChatJudge("gpt-4o", **_options(server, tmp_path))
    assert judge.estimate_cost(samples).n_requests == 3  # questions 0, 1, 3
    reviewed = judge.review(samples)
    assert reviewed["review_status"][:] == ["ok", "ok", "skipped", "ok", "skipped"]
    scores = relative_scores(reviewed)
    assert scores.overall.n == 3
    reasons = {u.question_id: u.reason for u in scores.unscorable}
    assert reasons["2"] == "no answer from 'synthetic-model' to question_id '2'"
    assert "llava_med_questions.jsonl line 5: not JSON" in reasons[""]


def test_pairwise_judge_sends_both_orders_and_keeps_the_books(server, demo_questions, tmp_path):
    questions = read_questions(demo_questions)
    grounded = join_answers(questions, read_answers(_answers(questions, tmp_path, "grounded", True)))
    ungrounded = join_answers(questions, read_answers(_answers(questions, tmp_path, "ungrounded", False)))
    pairs = pair_answers(grounded, ungrounded)
    judge = PairwiseJudge("gpt-4o", **_options(server, tmp_path))
    judged = judge.compare(pairs)
    requests = judge.build_requests(pairs)
    assert len(requests) == 2 * len(pairs)
    first, second = requests[0].body["messages"][1]["content"], requests[1].body["messages"][1]["content"]

    def block(text, name):
        return text[text.index(f"[Assistant {name}]") : text.index(f"[End of Assistant {name}]")]

    assert grounded[0]["answer"] in block(first, "A") and ungrounded[0]["answer"] in block(first, "B")
    assert grounded[0]["answer"] in block(second, "B") and ungrounded[0]["answer"] in block(second, "A")
    assert set(judged["pairwise_status"][:]) == {"ok"}
    # the stand-in prefers the grounded answer in both positions: model 1 wins every question
    assert judged["verdict_1_as_a"][:] == ["A"] * 18 and judged["verdict_1_as_b"][:] == ["B"] * 18
    result = pairwise_win_rate(judged, n_bootstrap=500)
    assert (result.model_1, result.model_2) == ("grounded", "ungrounded")
    assert (result.wins, result.ties, result.losses) == (18, 0, 0)
    assert result.win_rate == 1.0 and result.position_bias_rate == 0.0
    assert result.first_position_rate == pytest.approx(0.5)
    swapped = PairwiseJudge("gpt-4o", **_options(server, tmp_path)).compare(
        pair_answers(ungrounded, grounded)
    )
    reverse = pairwise_win_rate(swapped)
    assert reverse.win_rate == 0.0 and reverse.losses == 18


def test_unparseable_verdicts_are_unjudged_not_guessed(format_ignoring_server, demo_questions, tmp_path):
    questions = read_questions(demo_questions)
    grounded = join_answers(questions, read_answers(_answers(questions, tmp_path, "grounded", True)))
    ungrounded = join_answers(questions, read_answers(_answers(questions, tmp_path, "ungrounded", False)))
    judged = PairwiseJudge("gpt-4o", **_options(format_ignoring_server, tmp_path)).compare(
        pair_answers(grounded, ungrounded)
    )
    result = pairwise_win_rate(judged)
    assert result.n == 0 and result.win_rate is None and len(result.unjudged) == 18
    assert "unparseable verdict" in result.unjudged[0]["reason"]


def test_reference_answers_are_regenerated_through_the_same_engine(server, demo_questions, tmp_path):
    questions = read_questions(demo_questions)
    answerer = QuestionAnswerer("gpt-4o-mini", **_options(server, tmp_path))
    renewed = regenerate_references(questions, answerer)
    assert set(renewed["reference_model"][:]) == {"gpt-4o-mini"}
    assert renewed["original_reference_answer"][:] == questions["reference_answer"][:]
    assert renewed["reference_answer"][:] != questions["reference_answer"][:]
    assert all(renewed["reference_answer"][:]) and not any(renewed["error"][:])
    # the request showed the model the caption (LLaVA-Med's references were written from it)
    body = answerer.build_requests(questions)[5].body
    assert questions[5]["caption"] in body["messages"][1]["content"]
    assert (
        "score" not in answerer.system_prompt.lower()
    )  # the stand-in and judge servers would treat it as a judgement
    without_context = QuestionAnswerer("vlm", with_context=False, **_options(server, tmp_path))
    assert (
        without_context.build_requests(questions)[5].body["messages"][1]["content"]
        == questions[5]["question"]
    )


def test_the_answerer_sends_the_image_when_given_an_image_root(server, demo_questions, tmp_path):
    from biomed_vital.data import load_demo_figures

    images = tmp_path / "images"
    images.mkdir()
    for figure in load_demo_figures():
        figure["image"].save(images / f"{figure['id']}.png")
    questions = read_questions(demo_questions)
    answerer = QuestionAnswerer(
        "vlm", with_context=False, image_root=str(images), **_options(server, tmp_path)
    )
    request = answerer.build_requests(questions)[0]
    assert request.body is None and request.key  # built when sent, keyed by the image's content
    content = request.build()["messages"][1]["content"]
    assert content[0]["type"] == "image_url" and content[0]["image_url"]["url"].startswith("data:image/jpeg")
    answered = answerer.answer(questions)
    assert set(answered["answer_status"][:]) == {"ok"}
    (images / "pydicom_ct_small.png").unlink()
    missing = QuestionAnswerer("vlm", image_root=str(images), **_options(server, tmp_path)).answer(questions)
    assert missing["answer_status"][0] == "error" and "image not found" in missing["answer_error"][0]
