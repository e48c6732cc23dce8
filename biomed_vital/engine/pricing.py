"""Token prices and projected spend, so a run's cost is known before anything is sent.

Default prices are OpenAI's published list prices in US dollars per one million tokens as of
:data:`DEFAULT_PRICES_DATE`. Providers change prices and Azure bills by contract, so set your
own with :meth:`PriceTable.set` or pass a whole table.

Requests sent through a provider's Batch API (``EngineConfig(batch=True)``) are billed at batch
prices: half the synchronous price per token at OpenAI and Azure OpenAI (:data:`BATCH_DISCOUNT`),
unless a model's batch prices are set explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biomed_vital.engine.tokens import estimate_message_tokens

__all__ = [
    "BATCH_DISCOUNT",
    "DEFAULT_PRICES_DATE",
    "CostEstimate",
    "ModelPrice",
    "PriceTable",
    "estimate_cost",
]

DEFAULT_PRICES_DATE = "2025-04-15"
# What the Batch API charges per token, as a fraction of the synchronous price (OpenAI and Azure OpenAI
# both advertise 50 % off for batch requests answered within the 24 h completion window).
BATCH_DISCOUNT = 0.5

# USD per 1M tokens (input, output), list prices on DEFAULT_PRICES_DATE.
_DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-2024-05-13": (5.00, 15.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4-vision-preview": (10.00, 30.00),
    "gpt-4-1106-vision-preview": (10.00, 30.00),
}


@dataclass(frozen=True)
class ModelPrice:
    """Price of one model in USD per one million input and output tokens, synchronous and through the Batch API.

    The batch prices default to :data:`BATCH_DISCOUNT` times the synchronous ones.

    Example:
        >>> ModelPrice(2.5, 10.0).cost(1_000_000, 100_000)
        3.5
        >>> ModelPrice(2.5, 10.0).cost(1_000_000, 100_000, batch=True)
        1.75
    """

    input_per_million: float
    output_per_million: float
    batch_input_per_million: float | None = None
    batch_output_per_million: float | None = None

    def __post_init__(self) -> None:
        prices = (
            self.input_per_million,
            self.output_per_million,
            self.batch_input_per_million or 0.0,
            self.batch_output_per_million or 0.0,
        )
        if min(prices) < 0:
            raise ValueError(f"prices must be >= 0, got {self}")

    def per_million(self, batch: bool = False) -> tuple[float, float]:
        """Input and output price per million tokens, synchronous or batch."""
        if not batch:
            return self.input_per_million, self.output_per_million
        batch_input = self.batch_input_per_million
        batch_output = self.batch_output_per_million
        return (
            self.input_per_million * BATCH_DISCOUNT if batch_input is None else batch_input,
            self.output_per_million * BATCH_DISCOUNT if batch_output is None else batch_output,
        )

    def cost(self, prompt_tokens: int, completion_tokens: int, batch: bool = False) -> float:
        """Dollars for the given token counts (at batch prices with ``batch=True``)."""
        input_price, output_price = self.per_million(batch)
        return (prompt_tokens * input_price + completion_tokens * output_price) / 1e6


@dataclass
class PriceTable:
    """Per-model prices; a model is matched exactly, else by the longest known prefix.

    ``gpt-4o-2024-08-06`` is priced as ``gpt-4o``; a served open model (vLLM) has no price
    unless you set one (``PriceTable.set("my-model", 0, 0)`` for free local inference).

    Example:
        >>> table = PriceTable.default().set("llava-med", 0.0, 0.0)
        >>> table.price("gpt-4o-2024-08-06").per_million()
        (2.5, 10.0)
        >>> round(table.cost("gpt-4o-mini", 10_000, 1_000), 6)
        0.0021
        >>> round(table.cost("gpt-4o-mini", 10_000, 1_000, batch=True), 6)
        0.00105
    """

    prices: dict[str, ModelPrice] = field(default_factory=dict)
    as_of: str = DEFAULT_PRICES_DATE

    @classmethod
    def default(cls) -> PriceTable:
        """OpenAI list prices on :data:`DEFAULT_PRICES_DATE`."""
        return cls({name: ModelPrice(*price) for name, price in _DEFAULT_PRICES.items()})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceTable:
        """Build from ``{"model": {"input_per_million": x, "output_per_million": y}}`` or ``{"model": (x, y)}``.

        A mapping may also give ``batch_input_per_million`` / ``batch_output_per_million``.
        """
        prices = {}
        for name, value in data.items():
            if isinstance(value, ModelPrice):
                prices[name] = value
            elif isinstance(value, Mapping):
                batch_input, batch_output = (
                    value.get("batch_input_per_million"),
                    value.get("batch_output_per_million"),
                )
                prices[name] = ModelPrice(
                    float(value["input_per_million"]),
                    float(value["output_per_million"]),
                    None if batch_input is None else float(batch_input),
                    None if batch_output is None else float(batch_output),
                )
            else:
                input_price, output_price = value
                prices[name] = ModelPrice(float(input_price), float(output_price))
        return cls(prices, as_of="user")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PriceTable:
        """The default table with the prices of a JSON or YAML file added (or overriding defaults).

        The file maps model names to ``{"input_per_million": x, "output_per_million": y}`` (or ``[x, y]``),
        optionally with ``batch_input_per_million`` / ``batch_output_per_million``.

        Example:
            >>> PriceTable.from_file("prices.yaml").price("my-vllm-model").per_million()     # doctest: +SKIP
            (0.0, 0.0)
        """
        import json

        text = Path(path).read_text(encoding="utf-8")
        if str(path).endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
        if not isinstance(data, Mapping):
            raise ValueError(f"{path}: expected a mapping of model name to prices, got {type(data).__name__}")
        try:
            user = cls.from_dict(data)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"{path}: each model needs input_per_million and output_per_million (USD per 1M tokens): {error}"
            ) from None
        table = cls.default()
        table.prices.update(user.prices)
        table.as_of = f"{DEFAULT_PRICES_DATE} + {path}"
        return table

    def to_dict(self) -> dict[str, dict[str, float]]:
        """JSON-serialisable form (see :meth:`from_dict`)."""
        data = {}
        for name, p in self.prices.items():
            entry = {"input_per_million": p.input_per_million, "output_per_million": p.output_per_million}
            if p.batch_input_per_million is not None:
                entry["batch_input_per_million"] = p.batch_input_per_million
            if p.batch_output_per_million is not None:
                entry["batch_output_per_million"] = p.batch_output_per_million
            data[name] = entry
        return data

    def set(
        self,
        model: str,
        input_per_million: float,
        output_per_million: float,
        batch_input_per_million: float | None = None,
        batch_output_per_million: float | None = None,
    ) -> PriceTable:
        """Set (or override) the price of ``model``; returns the table for chaining.

        Batch prices left as ``None`` are :data:`BATCH_DISCOUNT` times the synchronous ones.
        """
        self.prices[model] = ModelPrice(
            float(input_per_million),
            float(output_per_million),
            None if batch_input_per_million is None else float(batch_input_per_million),
            None if batch_output_per_million is None else float(batch_output_per_million),
        )
        return self

    def price(self, model: str) -> ModelPrice | None:
        """The price of ``model``, or ``None`` when neither the name nor a prefix of it is known."""
        if model in self.prices:
            return self.prices[model]
        matches = [name for name in self.prices if model.startswith(name)]
        return self.prices[max(matches, key=len)] if matches else None

    def cost(
        self, model: str, prompt_tokens: int, completion_tokens: int, batch: bool = False
    ) -> float | None:
        """Dollars for the token counts (at batch prices with ``batch=True``), or ``None`` when the model has no price."""
        price = self.price(model)
        return None if price is None else price.cost(prompt_tokens, completion_tokens, batch)


@dataclass
class CostEstimate:
    """Projected spend of a set of requests, before sending them.

    ``completion_tokens`` assumes every reply uses its whole ``max_tokens`` budget, so
    ``cost_usd`` is an upper bound; ``cost_usd`` is ``None`` when a model has no price. With
    ``batch=True`` the spend is at batch prices and ``sync_cost_usd`` is the same at synchronous prices.
    """

    n_requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    unpriced_models: list[str] = field(default_factory=list)
    batch: bool = False
    sync_cost_usd: float | None = None

    def __str__(self) -> str:
        cost = (
            "unknown (no price for " + ", ".join(self.unpriced_models) + ")"
            if self.cost_usd is None
            else f"${self.cost_usd:,.2f}"
        )
        text = (
            f"{self.n_requests:,} requests, ~{self.prompt_tokens:,} prompt tokens, "
            f"<= {self.completion_tokens:,} completion tokens, projected spend <= {cost}"
        )
        if self.batch and self.cost_usd is not None and self.sync_cost_usd is not None:
            text += f" at batch prices (${self.sync_cost_usd:,.2f} at synchronous prices)"
        return text


def estimate_cost(
    requests: Iterable[Any],
    price_table: PriceTable | None = None,
    *,
    default_max_tokens: int = 1024,
    batch: bool = False,
) -> CostEstimate:
    """Project the token use and spend of chat requests without sending them.

    Args:
        requests: :class:`~biomed_vital.engine.engine.ChatRequest` objects or raw
            chat-completions bodies (mappings with ``model``, ``messages``, ``max_tokens``).
        price_table: prices to use (default :meth:`PriceTable.default`).
        default_max_tokens: completion budget assumed for a request without ``max_tokens``.
        batch: price the requests as sent through the Batch API (the synchronous spend is kept
            in ``sync_cost_usd``).

    Example:
        >>> body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1000}
        >>> print(estimate_cost([body, body]))
        2 requests, ~16 prompt tokens, <= 2,000 completion tokens, projected spend <= $0.02
        >>> print(estimate_cost([body] * 100, batch=True))
        100 requests, ~800 prompt tokens, <= 100,000 completion tokens, projected spend <= $0.50 at batch prices ($1.00 at synchronous prices)
    """
    table = price_table or PriceTable.default()
    n = prompt_total = completion_total = 0
    cost = sync_cost = 0.0
    unpriced: set[str] = set()
    for request in requests:
        body = request.body if hasattr(request, "body") else request
        prompt = estimate_message_tokens(body.get("messages") or [])
        completion = int(body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens)
        completion *= int(body.get("n") or 1)
        model = str(body.get("model", ""))
        n += 1
        prompt_total += prompt
        completion_total += completion
        price = table.price(model)
        if price is None:
            unpriced.add(model)
        else:
            cost += price.cost(prompt, completion, batch)
            sync_cost += price.cost(prompt, completion)
    return CostEstimate(
        n,
        prompt_total,
        completion_total,
        None if unpriced else cost,
        sorted(unpriced),
        batch=batch,
        sync_cost_usd=None if unpriced else sync_cost,
    )
