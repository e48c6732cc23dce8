"""`generate_answers`: a tuned model answers questions about images, in batches, resumably.

The answers come back as the evaluation stage's answer Dataset (:func:`biomed_vital.evaluation.read_answers`:
`question_id`, `answer`, `prompt`, `answer_id`, `model_id`, `line`, `error`), ready for
:func:`biomed_vital.evaluation.join_answers`, and are appended as each batch finishes to an answer file in
LLaVA-Med's format (JSONL: `question_id`, `prompt`, `text`, `answer_id`, `model_id`), written by the
evaluation stage's :func:`~biomed_vital.evaluation.write_answers`. Running again with the same file skips the
questions already answered, so an interrupted run loses at most one batch. Decoding is greedy unless asked
otherwise, so the same model gives the same answers.

Questions can be LLaVA-Med's question file read by :func:`biomed_vital.evaluation.read_questions`
(`question_id`, `question`, `image_file` under `image_root`), any Dataset with `id` / `question` (or `text`) /
`image`, or a conversation stage (`messages`: the model answers the last user turn).

Example:
    >>> from biomed_vital.evaluation import read_questions
    >>> questions = read_questions("llava_med_eval_qa50_qa.jsonl")                           # doctest: +SKIP
    >>> answers = generate_answers(model, processor, questions, image_root="images/",       # doctest: +SKIP
    ...                            output_file="answers/llava-vital.jsonl", batch_size=8)
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import datasets

__all__ = ["generate_answers"]

logger = logging.getLogger("biomed_vital.tuning")

_ID_COLUMNS = ("question_id", "id", "candidate_id")
_QUESTION_COLUMNS = ("question", "text")
_IMAGE_COLUMNS = ("image", "images", "image_file")


def _column(columns: list[str], options: tuple[str, ...], what: str, required: bool = True) -> str | None:
    for option in options:
        if option in columns:
            return option
    if required:
        raise ValueError(
            f"the questions have no {what} column (looked for {list(options)}; they have {columns})"
        )
    return None


def _answered_ids(path: Path) -> set[str]:
    """Question ids already answered in `path`; a last line cut off by a crash is removed from the file."""
    from biomed_vital.evaluation import read_answers

    if not path.is_file() or not path.read_bytes().strip():
        return set()
    answers = read_answers(path)
    errors = [(line, error) for line, error in zip(answers["line"], answers["error"], strict=True) if error]
    data = path.read_bytes()
    if errors and len(errors) == 1 and errors[0][0] == max(answers["line"]) and not data.endswith(b"\n"):
        logger.warning("%s: dropping the incomplete last line %d (an interrupted write)", path, errors[0][0])
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
        return {qid for qid, error in zip(answers["question_id"], answers["error"], strict=True) if not error}
    if errors:
        raise ValueError(
            f"{path}: line {errors[0][0]} is not a LLaVA-Med answer record ({errors[0][1]}); fix or move the file "
            "before answering into it"
        )
    return set(answers["question_id"])


def _append_answers(rows: list[dict[str, Any]], path: Path) -> None:
    """Append answer records, written by the evaluation stage's writer, and flush them to disk."""
    from biomed_vital.evaluation import write_answers

    with tempfile.TemporaryDirectory() as folder:
        records = Path(write_answers(rows, os.path.join(folder, "batch.jsonl"))).read_bytes()
    with path.open("ab") as handle:
        handle.write(records)
        handle.flush()
        os.fsync(handle.fileno())


def _prompt_messages(row: Mapping[str, Any], question_column: str | None) -> tuple[list[dict[str, Any]], str]:
    """The conversation to answer (ending with a user turn) and the question text."""
    from biomed_vital.data import strip_image_token

    if question_column is not None:
        question = strip_image_token(str(row[question_column] or "")).strip()
        return [{"role": "user", "content": question}], question
    messages = [dict(message) for message in row["messages"] or []]
    while messages and messages[-1].get("role") != "user":
        messages.pop()
    if not messages:
        raise ValueError("the conversation has no user turn to answer")
    for message in messages:
        if isinstance(message.get("content"), str):
            message["content"] = strip_image_token(message["content"])
    return messages, str(messages[-1]["content"])


def _answer_id(model_id: str, question_id: Any, text: str) -> str:
    digest = hashlib.sha256(f"{model_id}\x1f{question_id}\x1f{text}".encode()).hexdigest()
    return digest[:22]


def generate_answers(
    model: Any,
    processor: Any,
    questions: datasets.Dataset,
    *,
    output_file: str | os.PathLike | None = None,
    model_id: str | None = None,
    image_root: str | os.PathLike | None = None,
    batch_size: int = 8,
    max_new_tokens: int = 512,
    do_sample: bool = False,
    **generate_kwargs: Any,
) -> datasets.Dataset:
    """Answer every question with `model`; return the answers in the evaluation stage's answer shape.

    Args:
        model: an image-text-to-text model (a peft model with an adapter works too).
        processor: its processor (the chat template builds the prompts; padding is on the left).
        questions: a Dataset with an id (`question_id`, `id` or `candidate_id`), an image (`image`, or a path
            in `image_file` under `image_root`) and a question (`question` or `text`; `<image>` literals are
            removed), or `messages` (the model answers the last user turn).
        output_file: the answer file (JSONL, LLaVA-Med's format). Answers are appended as each batch
            finishes; questions already in the file are not asked again.
        model_id: the `model_id` written with each answer (default: the model's name or path).
        batch_size: questions per `generate` call.
        max_new_tokens, do_sample, generate_kwargs: passed to `model.generate` (greedy by default).

    Returns:
        One row per question, in the order of `questions`, with the columns of
        :func:`biomed_vital.evaluation.read_answers`: `question_id`, `answer`, `prompt`, `answer_id`,
        `model_id`, `line` (in the answer file; 0 without one) and `error`.

    Example:
        >>> answers = generate_answers(model, processor, questions, output_file="answers.jsonl")  # doctest: +SKIP
        >>> answers[0]["answer"]                                                                    # doctest: +SKIP
        'The image is a chest X-ray ...'
    """
    import datasets
    import torch
    from tqdm.auto import tqdm
    from trl.data_utils import prepare_multimodal_messages

    from biomed_vital.data import load_image
    from biomed_vital.evaluation import answer_features, read_answers

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    columns = questions.column_names
    id_column = _column(columns, _ID_COLUMNS, "question id", required=False)
    question_column = _column(columns, _QUESTION_COLUMNS, "question", required="messages" not in columns)
    image_column = _column(columns, _IMAGE_COLUMNS, "image")
    model_id = model_id or str(
        getattr(model, "name_or_path", None) or getattr(model.config, "_name_or_path", "") or "model"
    )
    path = Path(output_file) if output_file is not None else None
    identifiers = [str(i) for i in (questions[id_column] if id_column else range(len(questions)))]
    done = _answered_ids(path) if path is not None else set()
    todo = [index for index, identifier in enumerate(identifiers) if identifier not in done]
    if done:
        logger.info(
            "%s already answers %d of %d questions", path, len(identifiers) - len(todo), len(identifiers)
        )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)

    tokenizer = getattr(processor, "tokenizer", processor)
    was_training = model.training
    model.eval()
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation continues from the last position of every row
    device = next(model.parameters()).device
    progress = tqdm(total=len(todo), desc="Answering", unit=" questions")
    generated: dict[str, dict[str, Any]] = {}
    try:
        for start in range(0, len(todo), batch_size):
            batch_indices = todo[start : start + batch_size]
            conversations, prompts = [], []
            for index in batch_indices:
                row = questions[index]
                try:
                    image_value = row[image_column]
                    if image_column == "images":
                        image_value = image_value[0] if image_value else None
                    image = load_image(image_value, image_root=image_root)
                    messages, prompt = _prompt_messages(row, question_column)
                except Exception as error:
                    raise ValueError(
                        f"question {identifiers[index]!r} (row {index}): {error}; answers so far are kept"
                        + (f" in {path}" if path else "")
                    ) from error
                conversations.append(prepare_multimodal_messages(messages, images=[image]))
                prompts.append(prompt)
            inputs = processor.apply_chat_template(
                conversations,
                add_generation_prompt=True,
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
                processor_kwargs={"padding": True, "padding_side": "left"},
            ).to(device)
            with torch.inference_mode():
                output = model.generate(
                    **inputs, max_new_tokens=max_new_tokens, do_sample=do_sample, **generate_kwargs
                )
            new_tokens = output[:, inputs["input_ids"].shape[1] :]
            texts = [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
            rows = [
                {
                    "question_id": identifiers[index],
                    "answer": text,
                    "prompt": prompt,
                    "answer_id": _answer_id(model_id, identifiers[index], text),
                    "model_id": model_id,
                    "line": 0,
                    "error": "",
                }
                for index, prompt, text in zip(batch_indices, prompts, texts, strict=True)
            ]
            generated.update((row["question_id"], row) for row in rows)
            if path is not None:
                _append_answers(rows, path)
            progress.update(len(batch_indices))
    finally:
        progress.close()
        tokenizer.padding_side = previous_side
        model.train(was_training)
    if path is not None:  # the file is the record: every answer, with its line
        by_id = {row["question_id"]: row for row in read_answers(path)}
    else:
        by_id = generated
    return datasets.Dataset.from_list(
        [by_id[identifier] for identifier in identifiers], features=answer_features()
    )
