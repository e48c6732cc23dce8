"""`generate_answers`: a tuned model answers questions about images, in batches, resumably.

The answers come back as a `datasets.Dataset` with the columns of LLaVA-Med's answer files, which the
evaluation stage reads (`question_id`, `prompt`, `text`, `answer_id`, `model_id`), and are appended as they
come to an answer file in LLaVA-Med's format (JSONL, one answer a line, with an empty `metadata`). Running
again with the same file skips the questions already answered, so an interrupted run loses at most one batch.
Decoding is greedy unless asked otherwise, so the same model gives the same answers.

Questions can be LLaVA-Med's question file (`question_id`, `image`, `text` with `<image>`), any Dataset with
`id` / `question` / `image`, or a conversation stage (`messages`: the model answers the last user turn).

Example:
    >>> from biomed_vital.schema import load_stage
    >>> questions = load_stage("llava_med_eval_qa50_qa.jsonl")                               # doctest: +SKIP
    >>> answers = generate_answers(model, processor, questions, image_root="images/",       # doctest: +SKIP
    ...                            output_file="answers/llava-vital.jsonl", batch_size=8)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import datasets

__all__ = ["ANSWER_COLUMNS", "generate_answers"]

logger = logging.getLogger("biomed_vital.tuning")

#: The columns of an answer (LLaVA-Med's answer-file fields).
ANSWER_COLUMNS: tuple[str, ...] = ("question_id", "prompt", "text", "answer_id", "model_id")

_ID_COLUMNS = ("question_id", "id", "candidate_id")
_QUESTION_COLUMNS = ("text", "question")


def _column(columns: list[str], options: tuple[str, ...], what: str, required: bool = True) -> str | None:
    for option in options:
        if option in columns:
            return option
    if required:
        raise ValueError(
            f"the questions have no {what} column (looked for {list(options)}; they have {columns})"
        )
    return None


def _read_answers(path: Path) -> dict[Any, dict[str, Any]]:
    """Answers already in `path`; a last line cut off by a crash is dropped from the file."""
    if not path.is_file():
        return {}
    data = path.read_bytes()
    answers: dict[Any, dict[str, Any]] = {}
    offset = 0
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        start, offset = offset, offset + len(line) + 1
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or "question_id" not in record:
                raise ValueError("not an answer record")
        except ValueError as error:
            if number >= len(lines) - 1 and not data.endswith(b"\n"):
                logger.warning(
                    "%s: dropping the incomplete last line %d (an interrupted write)", path, number
                )
                with path.open("r+b") as handle:
                    handle.truncate(start)
                break
            raise ValueError(
                f"{path}, line {number}: not a LLaVA-Med answer record ({error}); fix or move the file"
            ) from error
        answers[record["question_id"]] = record
    return answers


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
    """Answer every question with `model` and return the answers (LLaVA-Med's answer-file columns).

    Args:
        model: an image-text-to-text model (a peft model with an adapter works too).
        processor: its processor (the chat template builds the prompts; padding is on the left).
        questions: a Dataset with an id (`question_id`, `id` or `candidate_id`), an image (`image`: a decoded
            image or a path under `image_root`) and a question (`text` or `question`; `<image>` literals are
            removed), or `messages` (the model answers the last user turn).
        output_file: the answer file (JSONL). Answers are appended as each batch finishes; questions already in
            the file are not asked again.
        model_id: the `model_id` written with each answer (default: the model's name or path).
        batch_size: questions per `generate` call.
        max_new_tokens, do_sample, generate_kwargs: passed to `model.generate` (greedy by default).

    Returns:
        One row per question, in the order of `questions`: `question_id`, `prompt` (the question), `text` (the
        answer), `answer_id` and `model_id`.

    Example:
        >>> answers = generate_answers(model, processor, questions, output_file="answers.jsonl")  # doctest: +SKIP
        >>> answers[0]["text"]                                                                      # doctest: +SKIP
        'The image is a chest X-ray ...'
    """
    import datasets
    import torch
    from tqdm.auto import tqdm
    from trl.data_utils import prepare_multimodal_messages

    from biomed_vital.data import load_image

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    columns = questions.column_names
    id_column = _column(columns, _ID_COLUMNS, "question id", required=False)
    question_column = _column(columns, _QUESTION_COLUMNS, "question", required="messages" not in columns)
    image_column = _column(columns, ("image", "images"), "image")
    model_id = model_id or str(
        getattr(model, "name_or_path", None) or getattr(model.config, "_name_or_path", "") or "model"
    )
    path = Path(output_file) if output_file is not None else None
    done = _read_answers(path) if path is not None else {}
    identifiers = list(questions[id_column]) if id_column else list(range(len(questions)))
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
    handle = path.open("a", encoding="utf-8") if path is not None else None
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
            lines = []
            for index, prompt, text in zip(batch_indices, prompts, texts, strict=True):
                identifier = identifiers[index]
                record = {
                    "question_id": identifier,
                    "prompt": prompt,
                    "text": text,
                    "answer_id": _answer_id(model_id, identifier, text),
                    "model_id": model_id,
                }
                done[identifier] = record
                lines.append(json.dumps({**record, "metadata": {}}, ensure_ascii=False) + "\n")
            if handle is not None:
                handle.write("".join(lines))
                handle.flush()
                os.fsync(handle.fileno())
            progress.update(len(batch_indices))
    finally:
        progress.close()
        if handle is not None:
            handle.close()
        tokenizer.padding_side = previous_side
        model.train(was_training)
    rows = [{column: done[identifier].get(column) for column in ANSWER_COLUMNS} for identifier in identifiers]
    return datasets.Dataset.from_list(rows)
