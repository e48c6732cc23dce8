"""Run a coroutine from synchronous code, also when an event loop is already running (Jupyter)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion and return its result.

    Without a running loop this is ``asyncio.run``. Inside one (a notebook cell) the
    coroutine runs on a fresh loop in a worker thread, because the notebook's loop cannot be
    re-entered.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="biomed_vital") as pool:
        return pool.submit(asyncio.run, coroutine).result()
