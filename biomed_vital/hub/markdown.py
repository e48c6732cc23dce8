"""The Markdown pieces dataset and model cards are written with: table cells, key/value tables, the card file.

Every value goes through :func:`~biomed_vital.hub.redaction.redact` on its way into a cell, so a
card cannot leak a key through a table.

Example:
    >>> from biomed_vital.hub.markdown import key_value_table
    >>> key_value_table("Training", ("setting", "value"), {"learning_rate": 2e-05})
    ['## Training', '', '| setting | value |', '|---|---|', '| learning_rate | 2e-05 |', '']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from biomed_vital.hub.redaction import redact, redact_items

__all__ = ["card_file_text", "cell", "key_value_table"]

_MAX_CELL = 120


def cell(value: Any) -> str:
    """``value`` as one Markdown table cell: redacted, one line, ``|`` escaped, at most 120 characters.

    Example:
        >>> cell("a | b\\nc")
        'a \\\\| b c'
    """
    text = redact(str(value)).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 3] + "..."


def key_value_table(
    title: str, header: Sequence[str], values: Mapping[str, Any], *, numbers_right: bool = False
) -> list[str]:
    """A ``## title`` section with a two-column table of ``values`` (secrets redacted by key and by value).

    Floats are shown with four significant digits when ``numbers_right`` (metrics), as given otherwise.

    Example:
        >>> key_value_table("Evaluation", ("metric", "value"), {"accuracy": 0.81234}, numbers_right=True)[-2]
        '| accuracy | 0.8123 |'
    """
    alignment = "|---|---:|" if numbers_right else "|---|---|"
    lines = [f"## {title}", "", f"| {header[0]} | {header[1]} |", alignment]
    for key, value in redact_items(values):
        shown = f"{value:.4g}" if numbers_right and isinstance(value, float) else cell(value)
        lines.append(f"| {cell(key)} | {shown} |")
    return [*lines, ""]


def card_file_text(yaml: str, lines: Sequence[str]) -> str:
    """A card file: the YAML header between ``---`` lines, a blank line, then the Markdown ``lines``.

    Example:
        >>> card_file_text("license: other", ["# Title"])
        '---\\nlicense: other\\n---\\n\\n# Title'
    """
    return f"---\n{yaml}\n---\n\n" + "\n".join(lines)
