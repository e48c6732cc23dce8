"""What a trained tokenizer should not carry into its saved files: the truncation of its last call.

A fast tokenizer's backend keeps the truncation that its last call asked for, and `save_pretrained` writes it
into `tokenizer.json`. Reloaded, transformers turns it into the tokenizer's default `max_length` (and
truncation side), so a tokenizer saved after training would truncate differently from the one it started
as, and warn that `max_length` is ignored on every padded call. Both our trainers clear it before saving;
every call sets the truncation it needs anyway.

Example:
    >>> from biomed_vital.testing import build_tiny_tokenizer
    >>> tokenizer = build_tiny_tokenizer()
    >>> _ = tokenizer(["Synthetic text."], truncation=True, max_length=4)
    >>> clear_call_truncation(tokenizer)
    >>> tokenizer.backend_tokenizer.truncation is None
    True
"""

from __future__ import annotations

from typing import Any

__all__ = ["clear_call_truncation"]


def clear_call_truncation(processing_class: Any) -> None:
    """Clear the truncation left in the backend of a tokenizer (or of a processor's tokenizer), if any.

    Example:
        >>> clear_call_truncation(processor)   # doctest: +SKIP
    """
    tokenizer = getattr(processing_class, "tokenizer", processing_class)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and backend.truncation is not None:
        backend.no_truncation()
