"""The public names of biomed_vital.data, and that importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import biomed_vital.data as data

REQUIRED = (
    "load_figures",
    "load_demo_figures",
    "load_image",
    "ImageLoadError",
    "FigureLoadError",
    "modality_from_domain",
    "conversations_to_messages",
    "messages_to_conversations",
    "to_llava_json",
    "image_to_data_url",
    "summarize_figures",
    "MODALITIES",
    "DOMAIN_KEYS",
)


def test_every_public_name_resolves():
    for name in REQUIRED:
        assert name in data.__all__
        assert getattr(data, name) is not None
    assert issubclass(data.ImageLoadError, ValueError)
    assert issubclass(data.FigureLoadError, ValueError)


def test_importing_the_data_layer_pulls_no_heavy_libraries():
    code = (
        "import sys, biomed_vital.data as d; d.modality_from_domain(None); d.conversations_to_messages([]);"
        "print(sorted(m for m in ('torch', 'transformers', 'trl', 'datasets') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
