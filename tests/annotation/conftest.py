"""Two-answer candidates for the annotation tests.

``synthetic_candidates`` is built directly (synthetic, labelled stand-in text, three questions per pair);
``standin_candidates`` comes from the generator in two-answer mode against the offline stand-in server,
on the built-in demo figures (real captions), with one figure's image replaced by bytes that do not decode
(``BROKEN_FIGURE``).
"""

from __future__ import annotations

import io

import pytest

MODALITIES = ("ct_scan", "mri", "chest_xray", "histology")
BROKEN_FIGURE = (
    "pydicom_ct_head_j2k"  # the second demo figure: its image is replaced by bytes that do not decode
)


def _png(shade: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (shade, shade, 255 - shade)).save(buffer, format="PNG")
    return buffer.getvalue()


def _conversation(pair: int, variant: str, turns: int = 3) -> list[dict[str, str]]:
    messages = []
    for turn in range(turns):
        messages.append({"role": "user", "content": f"Synthetic question {turn + 1} about figure {pair}?"})
        messages.append(
            {
                "role": "assistant",
                "content": f"Synthetic answer {variant}{turn + 1} for figure {pair} (stand-in).",
            }
        )
    return messages


def make_candidates(pairs: int = 4, *, failed_pair: int | None = None, imageless_pair: int | None = None):
    from datasets import Dataset, Features, Image, List, Value

    rows = []
    for pair in range(pairs):
        for index, variant in enumerate(("A", "B")):
            rows.append(
                {
                    "id": f"fig{pair}",
                    "image": None if pair == imageless_pair else {"bytes": _png(40 * pair), "path": None},
                    "caption": f"Synthetic stand-in caption of figure {pair}.",
                    "mentions": [f"Synthetic stand-in mention of figure {pair}."],
                    "modality": MODALITIES[pair % len(MODALITIES)],
                    "candidate_id": f"fig{pair}-c0-{variant}",
                    "candidate_index": 0,
                    "messages": _conversation(pair, variant),
                    "status": "error" if pair == failed_pair and index == 1 else "ok",
                    "pair_id": f"fig{pair}-c0",
                    "answer_variant": variant,
                }
            )
    features = Features(
        {
            "id": Value("string"),
            "image": Image(),
            "caption": Value("string"),
            "mentions": List(Value("string")),
            "modality": Value("string"),
            "candidate_id": Value("string"),
            "candidate_index": Value("int32"),
            "messages": List({"role": Value("string"), "content": Value("string")}),
            "status": Value("string"),
            "pair_id": Value("string"),
            "answer_variant": Value("string"),
        }
    )
    return Dataset.from_list(rows, features=features)


@pytest.fixture
def synthetic_candidates():
    return make_candidates()


@pytest.fixture(scope="session")
def standin_candidates(tmp_path_factory):
    """Two-answer candidates for the 9 demo figures from the stand-in server; the 2nd figure cannot decode."""
    pytest.importorskip("skimage", reason="the demo figures need the [demo] extra")
    from biomed_vital.data import load_demo_figures
    from biomed_vital.generation import GPT4VGenerator
    from biomed_vital.testing import StandInServer

    folder = tmp_path_factory.mktemp("standin-candidates")
    figures = load_demo_figures()
    with StandInServer() as server:
        generator = GPT4VGenerator(
            "stand-in",
            base_url=server.base_url,
            api_key="sk-test",
            two_answers=True,
            cache_dir=str(folder / "cache"),
        )
        candidates = generator.generate(figures)
    broken = b"synthetic bytes: this file is not an image"

    def break_one(row):
        if row["id"] == BROKEN_FIGURE:
            row["image"] = {"bytes": broken, "path": None}
        return row

    from datasets import Image

    candidates = candidates.cast_column("image", Image(decode=False)).map(break_one)
    path = folder / "candidates"
    candidates.save_to_disk(str(path))
    return path
