"""Assembling a task's output in bounded blocks: the rows of a block are planned, sent and written to disk
together, so memory does not grow with the Dataset.

A :class:`~biomed_vital.generation.task.ModelTask` plans ``BLOCK_ROWS`` input rows at a time
(:class:`RowBlock`), hands their requests to the engine as one batch of its stream, collects each
result the moment it is final, and, once every result of a block is in and every earlier block is
written, formats the block's output rows and appends them to an Arrow file (:class:`OutputWriter`).
At most ``BLOCKS_AHEAD`` blocks are planned and not yet written; everything else lives only on disk.
The output columns are then memory-mapped from that file, like any Dataset loaded from disk.

Example:
    >>> from datasets import Features, Value
    >>> writer = OutputWriter(Features({"status": Value("string"), "error": Value("string")}),
    ...                       status_column="status", error_column="error")
    >>> writer.write([{"status": "ok", "error": ""}, {"status": "error", "error": "truncated: cut"}], [0, 1])
    >>> added = writer.finish()
    >>> len(added), dict(writer.statuses), dict(writer.causes)
    (2, {'ok': 1, 'error': 1}, {'truncated': 1})
"""

from __future__ import annotations

import os
import uuid
from array import array
from collections import Counter
from collections.abc import Sequence
from typing import Any

from biomed_vital import schema
from biomed_vital.engine.requests import ChatResult

__all__ = ["BLOCKS_AHEAD", "BLOCK_ROWS", "OutputWriter", "RowBlock"]

# Input rows planned, sent and written together; and how many blocks may be planned but not yet
# written. A request that waits long (retries with backoff) holds its block, while the window goes on
# with the next blocks: 32 blocks of 256 rows keep 8,192 rows of work ahead, a few tens of MiB.
BLOCK_ROWS = 256
BLOCKS_AHEAD = 32


class RowBlock:
    """Consecutive input rows, their plans, and the results of their requests as they come in.

    Args:
        start: the first input row of the block.
        plans: the task's :class:`~biomed_vital.generation.task.RowPlan` of each row (rows counted from ``start``).
        first_request: the stream index of the block's first request.
    """

    def __init__(self, start: int, plans: Sequence[Any], first_request: int) -> None:
        self.start = start
        self.plans = plans
        self.first_request = first_request
        self.n_requests = sum(len(plan.requests) for plan in plans)
        self.results: list[ChatResult | None] = [None] * self.n_requests
        self.missing = self.n_requests

    def add(self, index: int, result: ChatResult) -> bool:
        """Keep the result of stream request ``index``; True when it was the block's last one."""
        self.results[index - self.first_request] = result
        self.missing -= 1
        return self.missing == 0

    def results_by_plan(self) -> list[tuple[Any, list[ChatResult]]]:
        """Each plan with the results of its requests, in order."""
        pairs = []
        position = 0
        for plan in self.plans:
            count = len(plan.requests)
            pairs.append((plan, [r for r in self.results[position : position + count] if r is not None]))
            position += count
        return pairs


class OutputWriter:
    """Appends output rows to an Arrow file in blocks and counts their statuses and error causes.

    The file lies in the temporary folder that ``datasets`` uses for the cache files of in-memory
    Datasets (removed when the process ends); ``save_to_disk`` keeps the result.

    Args:
        features: the ``datasets.Features`` of the output columns.
        status_column, error_column: the columns whose values the counts come from.
    """

    def __init__(self, features: Any, *, status_column: str, error_column: str) -> None:
        from datasets.arrow_writer import ArrowWriter
        from datasets.fingerprint import get_temporary_cache_files_directory

        self.features = features
        self.status_column, self.error_column = status_column, error_column
        self.path = os.path.join(
            get_temporary_cache_files_directory(), f"task-output-{uuid.uuid4().hex}.arrow"
        )
        self._writer = ArrowWriter(features=features, path=self.path)
        self.input_rows = array("q")  # the input row of every output row (8 bytes each)
        self.same_rows = True  # so far, exactly one output row per input row, in order
        self.statuses: Counter[str] = Counter()
        self.causes: Counter[str] = Counter()

    def write(self, rows: Sequence[dict[str, Any]], input_rows: Sequence[int]) -> None:
        """Append output ``rows`` (values of ``features``), made from the given ``input_rows``."""
        for row, input_row in zip(rows, input_rows, strict=True):
            self.same_rows = self.same_rows and input_row == len(self.input_rows)
            self.input_rows.append(input_row)
            status = row[self.status_column]
            self.statuses[status] += 1
            if status == schema.STATUS_ERROR and row[self.error_column]:
                self.causes[str(row[self.error_column]).split(":", 1)[0]] += 1
        if rows:
            self._writer.write_batch({name: [row[name] for row in rows] for name in self.features})

    def finish(self) -> Any:
        """Close the file and return its rows as a Dataset, memory-mapped."""
        from datasets import Dataset

        if not self.input_rows:  # nothing written: the file has no schema to read back
            self._writer.close()
            return Dataset.from_dict({name: [] for name in self.features}, features=self.features)
        self._writer.finalize()
        self._writer.close()
        return Dataset.from_file(self.path)
