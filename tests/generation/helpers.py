"""Helpers shared by the generation tests (synthetic figures, request-log checks).

The synthetic figures carry labelled stand-in text ("Synthetic test caption ..."), not
medical content.
"""

from __future__ import annotations

import io

CANARY_KEY = "sk-test-CANARY-1234567890"
# keys without the ``sk-`` prefix, which no key-shaped pattern masks: only scrubbing the exact secret removes them
AZURE_CANARY_KEY = "0f3c9a7d5e1b48c2a6d4f8e0b2c7a913"  # Azure OpenAI: 32 hex characters (synthetic)
VLLM_CANARY_TOKEN = "vllm-canary-token-7Q2wX9zL4mN8"  # vLLM --api-key: any string (synthetic)
CANARY_KEYS = (CANARY_KEY, AZURE_CANARY_KEY, VLLM_CANARY_TOKEN)


def synthetic_png(index: int, size: int = 16) -> bytes:
    """A small PNG whose pixels depend on ``index`` (so fingerprints differ between figures)."""
    from PIL import Image

    image = Image.new("RGB", (size, size), ((index * 37) % 256, (index * 91) % 256, (index * 53) % 256))
    image.putpixel((index % size, (index // size) % size), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def make_figures(n: int, *, prefix: str = "fig", size: int = 16):
    """A figures Dataset with synthetic, clearly labelled stand-in text and tiny images."""
    from datasets import Dataset, Features, Image, List, Value

    modalities = ["chest_xray", "mri", "ct_scan", "histology", "gross", "other"]
    features = Features(
        {
            "id": Value("string"),
            "image": Image(),
            "caption": Value("string"),
            "mentions": List(Value("string")),
            "modality": Value("string"),
        }
    )
    return Dataset.from_dict(
        {
            "id": [f"{prefix}{i:04d}" for i in range(n)],
            "image": [{"bytes": synthetic_png(i, size), "path": None} for i in range(n)],
            "caption": [
                f"Synthetic test caption {i} (stand-in text, not medical content)." for i in range(n)
            ],
            "mentions": [[f"Synthetic mention {i} (stand-in text)."] for i in range(n)],
            "modality": [modalities[i % len(modalities)] for i in range(n)],
        },
        features=features,
    )


# faults whose 200 carries a reply that cannot be used (so asking again is right)
UNUSABLE_FAULTS = frozenset({"malformed", "truncated"})


def requests_sent_after_success(log: list[dict]) -> list[str]:
    """Request keys that the server saw again after it had answered them with a usable 200 (one that was
    not an injected malformed or truncated reply)."""
    succeeded: set[str] = set()
    repeated = []
    for entry in sorted(log, key=lambda e: e["seq"]):
        key = entry["request_key"]
        if key is None:
            continue
        if key in succeeded:
            repeated.append(key)
        if entry["status"] == 200 and entry["fault"] not in UNUSABLE_FAULTS:
            succeeded.add(key)
    return repeated
