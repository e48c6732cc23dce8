"""Sharing the rows of `select()` between the processes of an `accelerate launch`.

Each process scores one contiguous share of the eligible rows; the shares' scores are gathered back to every
process, in row order, so every process returns the same selection and the main process writes the report.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def _launched_with_several_processes() -> bool:
    import torch.distributed

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size() > 1
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


class ProcessShare:
    """This process's place among the processes of a distributed launch (`accelerate launch`, `torchrun`).

    Example:
        >>> share = ProcessShare.current()        # None in a single process
        >>> share is None
        True
    """

    def __init__(self, state: Any):
        self.state = state
        self.index: int = state.process_index
        self.count: int = state.num_processes

    @classmethod
    def current(cls) -> ProcessShare | None:
        """The share of this process, or None when it runs alone."""
        if not _launched_with_several_processes():
            return None
        import torch
        from accelerate import PartialState

        # Without an accelerator, `accelerate launch` leaves the processes unconnected unless asked for CPU
        # processes (gloo); the first PartialState of a process decides, later ones share its state.
        state = PartialState(cpu=not torch.accelerator.is_available())
        return cls(state) if state.num_processes > 1 else None

    @property
    def is_main(self) -> bool:
        return bool(self.state.is_main_process)

    @property
    def device(self) -> Any:
        return self.state.device

    def split(self, rows: np.ndarray) -> list[np.ndarray]:
        """`rows` cut into one contiguous share per process (the first shares are one row longer)."""
        return np.array_split(rows, self.count)

    def gather(self, payload: Any) -> list[Any]:
        """Every process's `payload`, in process order, on every process."""
        from accelerate.utils import gather_object

        gathered = gather_object([(self.index, payload)])
        return [item for _, item in sorted(gathered, key=lambda pair: pair[0])]

    def wait(self) -> None:
        """Block until every process gets here."""
        self.state.wait_for_everyone()


__all__ = ["ProcessShare"]
