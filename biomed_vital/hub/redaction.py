"""Keep secrets out of everything that goes to the Hub.

Cards are public. A value that looks like an API key or a token (OpenAI ``sk-...``, Hugging Face
``hf_...``, GitHub, AWS, JWT, ``Bearer ...``) is replaced by ``[redacted]`` wherever card text is
written, and a setting whose *name* says it is a secret (``api_key``, ``token``, ``password``, ...)
has its value redacted whatever it looks like.

Example:
    >>> from biomed_vital.hub import redact
    >>> redact("key sk-abcdefghijklmnop")
    'key [redacted]'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "redact", "redact_items"]

#: What stands in a card where a secret was.
REDACTED = "[redacted]"

_SECRET_NAME = re.compile(
    r"(api[_-]?key|token|secret|password|passwd|authori[sz]ation|credential|bearer)", re.I
)
_SECRET_VALUE = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,}|(?:ghp|gho|github_pat)_[A-Za-z0-9_]{8,}"
    r"|AKIA[0-9A-Z]{12,}|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{5,})"
)


def redact(text: str) -> str:
    """Replace anything that looks like an API key or token with ``[redacted]``.

    Example:
        >>> redact("key sk-abcdefghijklmnop and hf_AbCdEfGhIjKlMnOp")
        'key [redacted] and [redacted]'
    """
    return _SECRET_VALUE.sub(REDACTED, text)


def redact_items(values: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """``(key, value)`` pairs safe to publish: secret-named keys lose their value, text values are redacted.

    Keys become strings; values other than text are kept as they are (numbers stay numbers).

    Example:
        >>> redact_items({"hf_token": "plain-looking", "note": "Bearer abcdefghijkl", "epochs": 3})
        [('hf_token', '[redacted]'), ('note', '[redacted]'), ('epochs', 3)]
    """
    items = []
    for key, value in (values or {}).items():
        if _SECRET_NAME.search(str(key)):
            items.append((str(key), REDACTED))
        elif isinstance(value, str):
            items.append((str(key), redact(value)))
        else:
            items.append((str(key), value))
    return items
