"""Third-party notices that our own imports trigger and that tell a user nothing, silenced where we trigger them.

Importing trl imports peft, which imports bitsandbytes; on a CPU with AVX-512 bfloat16 bitsandbytes then
logs that an optional 4-bit kernel package (``kernels``) is missing. Training a selector uses no 4-bit
layer, so the line is noise on every run. Only that message, only on that logger and only while our
module imports trl is dropped: everything else bitsandbytes says still shows, and a user who imports
bitsandbytes first sees the notice as before.

Example:
    >>> with bitsandbytes_kernel_notice_silenced():
    ...     import json  # e.g. ``from trl import RewardConfig``
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["bitsandbytes_kernel_notice_silenced"]

_LOGGER = "bitsandbytes.backends.cpu.ops"
_NOTICE = "Failed to load CPU gemm_4bit_forward from kernels-community"


class _DropKernelNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_NOTICE)


@contextmanager
def bitsandbytes_kernel_notice_silenced() -> Iterator[None]:
    """Drop bitsandbytes' "Failed to load CPU gemm_4bit_forward from kernels-community" line inside the block.

    Example:
        >>> with bitsandbytes_kernel_notice_silenced():
        ...     pass
    """
    logger = logging.getLogger(_LOGGER)
    notice_filter = _DropKernelNotice()
    logger.addFilter(notice_filter)
    try:
        yield
    finally:
        logger.removeFilter(notice_filter)
