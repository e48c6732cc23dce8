"""Token prices and projected spend, so a run's cost is known before anything is sent.

Default prices are OpenAI's published list prices in US dollars per one million tokens as of
:data:`DEFAULT_PRICES_DATE`. Providers change prices and Azure bills by contract, so set your
own with :meth:`PriceTable.set` or pass a whole table.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biomed_vital.engine.tokens import estimate_message_tokens

__all__ = ["DEFAULT_PRICES_DATE", "CostEstimate", "ModelPrice", "PriceTable", "estimate_cost"]

DEFAULT_PRICES_DATE = "2025-04-15"

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
    """Price of one model in USD per one million input and output tokens.

    Example:
        >>> ModelPrice(2.5, 10.0).cost(1_000_000, 100_000)
        3.5
    """

    input_per_million: float
    output_per_million: float

    def __post_init__(self) -> None:
        if self.input_per_million < 0 or self.output_per_million < 0:
            raise ValueError(f"prices must be >= 0, got {self.input_per_million}, {self.output_per_million}")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Dollars for the given token counts."""
        return (prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million) / 1e6


@dataclass
class PriceTable:
    """Per-model prices; a model is matched exactly, else by the longest known prefix.

    ``gpt-4o-2024-08-06`` is priced as ``gpt-4o``; a served open model (vLLM) has no price
    unless you set one (``PriceTable.set("my-model", 0, 0)`` for free local inference).

    Example:
        >>> table = PriceTable.default().set("llava-med", 0.0, 0.0)
        >>> table.price("gpt-4o-2024-08-06")
        ModelPrice(input_per_million=2.5, output_per_million=10.0)
        >>> round(table.cost("gpt-4o-mini", 10_000, 1_000), 6)
        0.0021
    """

    prices: dict[str, ModelPrice] = field(default_factory=dict)
    as_of: str = DEFAULT_PRICES_DATE

    @classmethod
    def default(cls) -> PriceTable:
        """OpenAI list prices on :data:`DEFAULT_PRICES_DATE`."""
        return cls({name: ModelPrice(*price) for name, price in _DEFAULT_PRICES.items()})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceTable:
        """Build from ``{"model": {"input_per_million": x, "output_per_million": y}}`` or ``{"model": (x, y)}``."""
        prices = {}
        for name, value in data.items():
            if isinstance(value, ModelPrice):
                prices[name] = value
            elif isinstance(value, Mapping):
                prices[name] = ModelPrice(
                    float(value["input_per_million"]), float(value["output_per_million"])
                )
            else:
                input_price, output_price = value
                prices[name] = ModelPrice(float(input_price), float(output_price))
        return cls(prices, as_of="user")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PriceTable:
        """The default table with the prices of a JSON or YAML file added (or overriding defaults).

        The file maps model names to ``{"input_per_million": x, "output_per_million": y}`` (or ``[x, y]``).

        Example:
            >>> PriceTable.from_file("prices.yaml").price("my-vllm-model")     # doctest: +SKIP
            ModelPrice(input_per_million=0.0, output_per_million=0.0)
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
        return {
            name: {"input_per_million": p.input_per_million, "output_per_million": p.output_per_million}
            for name, p in self.prices.items()
        }

    def set(self, model: str, input_per_million: float, output_per_million: float) -> PriceTable:
        """Set (or override) the price of ``model``; returns the table for chaining."""
        self.prices[model] = ModelPrice(float(input_per_million), float(output_per_million))
        return self

    def price(self, model: str) -> ModelPrice | None:
        """The price of ``model``, or ``None`` when neither the name nor a prefix of it is known."""
        if model in self.prices:
            return self.prices[model]
        matches = [name for name in self.prices if model.startswith(name)]
        return self.prices[max(matches, key=len)] if matches else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Dollars for the token counts, or ``None`` when the model has no price."""
        price = self.price(model)
        return None if price is None else price.cost(prompt_tokens, completion_tokens)


@dataclass
class CostEstimate:
    """Projected spend of a set of requests, before sending them.

    ``completion_tokens`` assumes every reply uses its whole ``max_tokens`` budget, so
    ``cost_usd`` is an upper bound; ``cost_usd`` is ``None`` when a model has no price.
    """

    n_requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    unpriced_models: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        cost = (
            "unknown (no price for " + ", ".join(self.unpriced_models) + ")"
            if self.cost_usd is None
            else f"${self.cost_usd:,.2f}"
        )
        return (
            f"{self.n_requests:,} requests, ~{self.prompt_tokens:,} prompt tokens, "
            f"<= {self.completion_tokens:,} completion tokens, projected spend <= {cost}"
        )


def estimate_cost(
    requests: Iterable[Any],
    price_table: PriceTable | None = None,
    *,
    default_max_tokens: int = 1024,
) -> CostEstimate:
    """Project the token use and spend of chat requests without sending them.

    Args:
        requests: :class:`~biomed_vital.engine.engine.ChatRequest` objects or raw
            chat-completions bodies (mappings with ``model``, ``messages``, ``max_tokens``).
        price_table: prices to use (default :meth:`PriceTable.default`).
        default_max_tokens: completion budget assumed for a request without ``max_tokens``.

    Example:
        >>> body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1000}
        >>> print(estimate_cost([body, body]))
        2 requests, ~16 prompt tokens, <= 2,000 completion tokens, projected spend <= $0.02
    """
    table = price_table or PriceTable.default()
    n = prompt_total = completion_total = 0
    cost = 0.0
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
        request_cost = table.cost(model, prompt, completion)
        if request_cost is None:
            unpriced.add(model)
        else:
            cost += request_cost
    return CostEstimate(n, prompt_total, completion_total, None if unpriced else cost, sorted(unpriced))
