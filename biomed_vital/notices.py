"""Third-party notices that our own imports trigger and that tell a user nothing, silenced where we trigger them.

Importing trl imports peft, which imports bitsandbytes; on a CPU with AVX-512 bfloat16 bitsandbytes then
tries to fetch an optional 4-bit kernel from the Hub with the ``kernels`` package (a dependency of
transformers). Offline, ``kernels`` logs that it skips the publisher check of that kernel's repository, and
bitsandbytes logs that the kernel could not be loaded (or that ``kernels`` is missing). Training a selector
uses no 4-bit layer, so both lines are noise on every run. Only those messages, only on those loggers and
only while our module imports trl are dropped: everything else bitsandbytes and ``kernels`` say still shows,
and a user who imports bitsandbytes first sees the notices as before.

peft reads a model's old ``is_gradient_checkpointing`` name whenever it wraps the model in an adapter, which
transformers (from 5.25) answers with a deprecation warning that no setting of ours or the user's avoids;
that one warning is dropped where we let peft wrap a model.

Example:
    >>> with bitsandbytes_kernel_notice_silenced():
    ...     import json  # e.g. ``from trl import RewardConfig``
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["bitsandbytes_kernel_notice_silenced", "peft_checkpointing_warning_silenced"]

#: The repository of bitsandbytes' optional CPU kernel.
_KERNEL_REPOSITORY = "kernels-community/quantization-bitsandbytes"
#: Logger -> the start of the one message dropped from it.
_NOTICES = {
    "bitsandbytes.backends.cpu.ops": "Failed to load CPU gemm_4bit_forward from kernels-community",
    "kernels._internals.hf_hub": f"Skipping publisher trust check for '{_KERNEL_REPOSITORY}'",
}


class _DropNotice(logging.Filter):
    def __init__(self, start: str):
        super().__init__()
        self.start = start

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.start)


@contextmanager
def bitsandbytes_kernel_notice_silenced() -> Iterator[None]:
    """Drop the notices about bitsandbytes' optional CPU kernel (see the module) inside the block.

    Example:
        >>> with bitsandbytes_kernel_notice_silenced():
        ...     pass
    """
    installed = [(logging.getLogger(name), _DropNotice(start)) for name, start in _NOTICES.items()]
    for logger, notice_filter in installed:
        logger.addFilter(notice_filter)
    try:
        yield
    finally:
        for logger, notice_filter in installed:
            logger.removeFilter(notice_filter)


@contextmanager
def peft_checkpointing_warning_silenced() -> Iterator[None]:
    """Drop transformers' "`is_gradient_checkpointing` is deprecated" warning that peft triggers inside the block.

    Example:
        >>> with peft_checkpointing_warning_silenced():
        ...     pass  # e.g. ``PeftModel.from_pretrained(model, adapter)``
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning
        )
        yield
