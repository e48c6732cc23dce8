"""``AnnotationSession``: one annotator's pass over the items, saved judgement by judgement.

Every judgement is appended to the JSONL log (:func:`biomed_vital.preferences.append_annotations`,
one write and an ``fsync``) before the page moves on, so a killed server loses nothing the page had
confirmed. Reopening reads the log and resumes at the first item this annotator has not judged.
The side on which each answer is shown is decided per item (seeded by annotator and item) and
recorded, so position bias can be measured (:func:`~biomed_vital.annotation.annotation_agreement`).

Records written per judgement (the schema of :mod:`biomed_vital.preferences.annotations`):

* one pairwise record: ``candidate_id_a`` is the answer shown as A (left), ``candidate_id_b`` the one
  shown as B (right), ``choice`` is ``A`` / ``B`` / ``tie`` / ``both_bad`` as clicked; plus ``item_id``,
  ``swapped`` (true when the generator's variant B was shown as A), ``seconds`` on the item, ``comment``;
* one mark record (``accepted`` true or false) for each answer the clinician accepted or rejected.

Example:
    >>> session = AnnotationSession(items, "annotations.jsonl", "rad-1")      # doctest: +SKIP
    >>> item = session.items[session.next_index()]                              # doctest: +SKIP
    >>> session.judge(item, "A", marks={"A": True}, seconds=12.5)               # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from biomed_vital.annotation.items import AnnotationItem

__all__ = ["APP_NAME", "AnnotationSession", "Shown"]

logger = logging.getLogger(__name__)

APP_NAME = "biomed-vital annotate"
CHOICES = ("A", "B", "tie", "both_bad")


class Shown:
    """An item as the annotator sees it: the answers in display order (A left, B right)."""

    def __init__(self, item: AnnotationItem, swapped: bool) -> None:
        self.item, self.swapped = item, swapped
        order = (1, 0) if swapped else (0, 1)
        self.answers = tuple(item.answers[i] for i in order)
        self.candidate_ids = tuple(item.candidate_ids[i] for i in order)


class AnnotationSession:
    """One annotator's progress through ``items``, backed by the append-only log at ``out``.

    Args:
        items: the items (:func:`~biomed_vital.annotation.annotation_items`).
        out: the JSONL log; created when missing, appended to otherwise (several annotators may share it).
        annotator: a stable, non-identifying label of the clinician (every record carries it).
        seed: seed of the per-item display order.
    """

    def __init__(
        self, items: Sequence[AnnotationItem], out: str | os.PathLike[str], annotator: str, *, seed: int = 0
    ) -> None:
        annotator = str(annotator or "").strip()
        if not annotator:
            raise ValueError("an annotator name is needed (--annotator NAME): every record carries it")
        self.items = list(items)
        self.out = Path(out)
        self.annotator = annotator
        self.seed = seed
        self.bad: dict[str, str] = {}  # item id -> why it cannot be shown (found while showing it)
        self._lock = threading.Lock()
        self._index = {item.item_id: position for position, item in enumerate(self.items)}
        self.done: set[str] = set()
        self._read_log()

    def _read_log(self) -> None:
        if not self.out.exists():
            self.out.parent.mkdir(parents=True, exist_ok=True)
            return
        data = self.out.read_bytes()
        if data and not data.endswith(b"\n"):
            # a write cut short by a crash: close the line so the next record starts on its own line
            logger.warning("%s ends in an incomplete line (an interrupted write); it is ignored", self.out)
            with open(self.out, "ab") as handle:
                handle.write(b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        for line_number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s line %d is not valid JSON; it is ignored", self.out, line_number)
                continue
            if (
                isinstance(record, dict)
                and record.get("annotator") == self.annotator
                and record.get("choice") is not None
                and record.get("item_id") in self._index
            ):
                self.done.add(record["item_id"])

    # ------------------------------------------------------------------ where we are
    @property
    def total(self) -> int:
        """Items that can be judged (those found unshowable are not counted)."""
        return len(self.items) - len(set(self.bad) - self.done)

    def next_index(self, start: int = 0) -> int | None:
        """The position of the first item from ``start`` on that is neither done nor unshowable."""
        for position in range(start, len(self.items)):
            item_id = self.items[position].item_id
            if item_id not in self.done and item_id not in self.bad:
                return position
        if start:
            return self.next_index(0)
        return None

    def swapped(self, item: AnnotationItem) -> bool:
        """Whether the generator's variant B is shown as A (left) for this annotator; fixed per item."""
        digest = hashlib.sha256(f"{self.seed}\0{self.annotator}\0{item.item_id}".encode()).digest()
        return bool(digest[0] & 1)

    def show(self, item: AnnotationItem) -> Shown:
        """The item with its answers in this annotator's display order."""
        return Shown(item, self.swapped(item))

    # ------------------------------------------------------------------ saving
    def judge(
        self,
        item: AnnotationItem,
        choice: str,
        *,
        marks: Mapping[str, bool | None] | None = None,
        comment: str = "",
        seconds: float | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> bool:
        """Append the judgement of ``item`` (choice on the displayed answers, optional accept/reject marks).

        Args:
            item: the item judged.
            choice: ``A`` / ``B`` (the answer shown on that side is better), ``tie`` or ``both_bad``.
            marks: ``{"A": True/False/None, "B": ...}``: accept or reject the answer shown on that side.
            comment: free text, kept with the pairwise record.
            seconds: time the annotator spent on the item.
            extra: further fields for every record written (e.g. ``{"simulated": True}``).

        Returns:
            ``True`` when written; ``False`` when this annotator had already judged the item (another tab).
        """
        from biomed_vital.preferences.annotations import append_annotations

        if choice not in CHOICES:
            raise ValueError(f"choice must be one of {', '.join(CHOICES)}, got {choice!r}")
        shown = self.show(item)
        common: dict[str, Any] = {
            "figure_id": item.figure_id,
            "question": item.question,
            "annotator": self.annotator,
            "item_id": item.item_id,
            "app": APP_NAME,
            **(extra or {}),
        }
        pairwise: dict[str, Any] = {
            "kind": "pairwise",
            **common,
            "candidate_id_a": shown.candidate_ids[0],
            "candidate_id_b": shown.candidate_ids[1],
            "choice": choice,
            "swapped": shown.swapped,
            "seconds": None if seconds is None else round(float(seconds), 2),
        }
        if comment.strip():
            pairwise["comment"] = comment.strip()
        records = [pairwise]
        for position, side in enumerate(("A", "B")):
            accepted = (marks or {}).get(side)
            if accepted is not None:
                records.append(
                    {
                        "kind": "mark",
                        **common,
                        "candidate_id": shown.candidate_ids[position],
                        "accepted": bool(accepted),
                        "shown_as": side,
                    }
                )
        with self._lock:
            if item.item_id in self.done:
                return False
            append_annotations(self.out, records)
            self.done.add(item.item_id)
        return True
