"""The table printed at the end of a run (and saved as ``summary.md``): each stage's key numbers.

Example:
    >>> print(summary_table({"output_dir": "runs/x", "stages": {"judge": {"judged": 9, "candidates": 9}},
    ...                      "seconds": {"judge": 1.5}}))                   # doctest: +NORMALIZE_WHITESPACE
    | stage | time (s) | result |
    |---|---:|---|
    | judge | 1.5 | judged 9, candidates 9 |
    <BLANKLINE>
    Everything is under runs/x.
"""

from __future__ import annotations

from typing import Any

__all__ = ["summary_table"]

# the numbers of each stage's summary worth a glance, in the order shown
_HEADLINES: dict[str, tuple[str, ...]] = {
    "figures": ("pool", "held_out", "unreadable"),
    "sample": ("drawn", "pool"),
    "annotate": ("source", "answers", "judgements", "demonstrations"),
    "generate": ("candidates", "ok"),
    "judge": ("judged", "candidates", "mean_score"),
    "preferences": ("train", "test"),
    "train_selector": ("train_pairs", "train_loss", "eval"),
    "select": ("selected", "candidates", "top_fraction"),
    "tune": ("method", "rows", "first_loss", "last_loss"),
    "evaluate": ("open_chat", "win_rates"),
}


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_value(v) for v in value)
    return str(value)


def summary_table(summary: dict[str, Any]) -> str:
    """Markdown: one row per stage with its time (blank when reused) and headline numbers, then the stand-ins."""
    lines = ["| stage | time (s) | result |", "|---|---:|---|"]
    seconds = summary.get("seconds", {})
    for stage, result in summary.get("stages", {}).items():
        keys = _HEADLINES.get(stage, tuple(result))
        shown = ", ".join(f"{key} {_value(result[key])}" for key in keys if result.get(key) is not None)
        time_cell = f"{seconds[stage]:.1f}" if stage in seconds else "reused"
        lines.append(f"| {stage} | {time_cell} | {shown.replace('|', '/')} |")
    requests = summary.get("requests") or {}
    if requests:
        sent = sum(r.get("sent") or 0 for r in requests.values())
        costs = [r.get("cost_usd") for r in requests.values()]
        spend = "unknown" if any(c is None for c in costs) else f"${sum(costs):.2f}"
        if "endpoint" in (summary.get("stand_ins") or {}):
            spend += " at list prices (the stand-in server charges nothing)"
        lines += ["", f"Model calls this run: {sent} sent, spend {spend}."]
    stand_ins = summary.get("stand_ins") or {}
    if stand_ins:
        lines += ["", "Ran against stand-ins, not the real thing:"]
        lines += [f"- {part}: {what}" for part, what in stand_ins.items()]
    lines += ["", f"Everything is under {summary.get('output_dir', '.')}."]
    return "\n".join(lines)
