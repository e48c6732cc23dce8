"""A run's batch paths: requests sent through the Batch API (``batch=True``) or written as batch files for
vLLM's ``run-batch`` (``batch_export``), before whatever is left goes the synchronous way.

:meth:`RequestEngine.stream <biomed_vital.engine.RequestEngine.stream>` hands this module every request of
the run: a batch is submitted whole, so batch mode reads the run's requests at once (their bodies are
still built one at a time, as the batch files are written). Requests without a stored answer are sent
once per cache key; the results of those a batch answered (or that were exported) are delivered here,
with the repeats of each key sharing its result. The rest (stored answers, requests a batch could not
answer and that ``batch_on_failure="sync"`` sends synchronously, and replies a task's check rejects and
asks again) return to the synchronous path.

Example:
    >>> from biomed_vital.engine import RequestEngine
    >>> engine = RequestEngine("gpt-4o-mini", batch=True, cache_dir="runs/cache")   # doctest: +SKIP
    >>> results = engine.run_sync(requests)   # submitted, waited for, collected   # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from biomed_vital.engine.requests import ChatRequest, ChatResult
from biomed_vital.engine.run_state import RunState

if TYPE_CHECKING:
    from biomed_vital.engine.engine import RequestEngine

__all__ = ["BatchDispatch", "RunItem"]

#: one request of a run: its number in the run, the request, its cache key, and its stored answer
RunItem = tuple[int, ChatRequest, str, dict[str, Any] | None]


class BatchDispatch:
    """Sends a run's requests without a stored answer through batches (or exports them); see the module
    docstring.

    Args:
        engine: the engine of the run (its config says batch or export).
        state: the run's counters, shared with the synchronous path.
        progress: the run's progress bar, or ``None``.
        deliver: hands one final result over: ``deliver(index, result, repeat)``.
        check: the task's check of a reply (``''`` when usable), or ``None``.
        retry_unusable: how often a rejected reply is asked again (the first time synchronously).
        keep_unusable: keep rejected replies (a batch's answer is then final as it is).
    """

    def __init__(
        self,
        engine: RequestEngine,
        state: RunState,
        progress: Any,
        deliver: Callable[[int, ChatResult, bool], None],
        check: Callable[[ChatResult], str] | None = None,
        retry_unusable: int = 0,
        keep_unusable: bool = False,
    ) -> None:
        self.engine, self.state, self.progress, self.deliver = engine, state, progress, deliver
        self.check, self.retry_unusable = check, retry_unusable
        self.asks_again = retry_unusable > 0 and not keep_unusable
        #: keys whose batch answer was rejected and that go to the synchronous path to be asked again
        self.asked_again: set[str] = set()

    async def run(self, items: Sequence[RunItem]) -> list[RunItem]:
        """Deliver the results of the requests the batches answered; return the items left to send."""
        groups: dict[str, list[RunItem]] = {}
        left: list[RunItem] = []
        for item in items:
            if item[3] is None:
                groups.setdefault(item[2], []).append(item)
            else:
                left.append(item)  # a stored answer: final, or asked again synchronously
        if not groups:
            return left
        firsts = [group[0] for group in groups.values()]
        requests = [item[1] for item in firsts]
        keys = [item[2] for item in firsts]
        positions = list(range(len(firsts)))
        progress = self.progress
        done_before = progress.n if progress is not None else 0
        if progress is not None:
            progress.total = len(items)
        answers: Mapping[str, dict[str, Any]] = {}
        if self.engine.config.batch_export:
            from biomed_vital.engine.batch_offline import export_pending

            by_position = await asyncio.to_thread(export_pending, self.engine, requests, keys, positions)
            sync: list[int] = []
        else:
            from biomed_vital.engine.batch import BatchRunner

            runner = BatchRunner(self.engine, self.state, progress)
            by_position, sync = await runner.run(requests, keys, positions)
            self.engine.last_batch_report = runner.report
            answers = runner.answers
        if progress is not None:  # the bar followed the batches; now it counts their results
            progress.n = done_before
        for position in sync:
            left.extend(groups[keys[position]])
        for position, result in by_position.items():
            group = groups[keys[position]]
            reason = self.check(result) if (self.check is not None and result.ok) else ""
            if reason and self.asks_again and keys[position] in answers:
                # not a final answer: the synchronous path asks again and replaces the stored one
                self.state.unusable_asked_again += 1
                self.asked_again.add(keys[position])
                left.extend((index, request, key, answers[key]) for index, request, key, _ in group)
                continue
            self.state.unusable_kept += bool(reason)
            for number, (index, request, _, _) in enumerate(group):
                shared = result if number == 0 else dataclasses.replace(result, request_id=request.request_id)
                self.deliver(index, shared, number > 0)
        left.sort(key=lambda item: item[0])
        return left
