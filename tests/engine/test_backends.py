"""Backend configuration, prices and cost estimates."""

from __future__ import annotations

import json

import openai
import pytest

from biomed_vital.engine import BackendConfig, PriceTable, estimate_cost
from tests.generation.helpers import CANARY_KEY


def test_provider_is_inferred_and_clients_have_sdk_retries_off(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert BackendConfig(model="gpt-4o").provider == "openai"
    local = BackendConfig(model="Qwen2-VL", base_url="http://127.0.0.1:8000/v1")
    assert local.provider == "openai_compatible"
    client = local.create_client()  # a local server needs no key
    assert isinstance(client, openai.AsyncOpenAI) and client.max_retries == 0
    azure = BackendConfig(
        model="my-gpt4o-deployment",
        azure_endpoint="https://example.openai.azure.com",
        api_version="2024-10-21",
        api_key=CANARY_KEY,
    )
    assert azure.provider == "azure"
    assert isinstance(azure.create_client(), openai.AsyncAzureOpenAI)


def test_the_key_comes_from_the_environment_when_not_given(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        BackendConfig(model="gpt-4o").create_client()
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
    assert BackendConfig(model="gpt-4o").resolve_api_key() == CANARY_KEY
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-value")
    azure = BackendConfig(
        model="d", azure_endpoint="https://example.openai.azure.com", api_version="2024-10-21"
    )
    assert azure.resolve_api_key() == "azure-key-value"


def test_serialisation_round_trips_without_the_key() -> None:
    backend = BackendConfig(model="gpt-4o", api_key=CANARY_KEY, timeout=30.0)
    data = backend.to_dict()
    assert CANARY_KEY not in json.dumps(data) and CANARY_KEY not in repr(backend)
    restored = BackendConfig.from_dict(data, api_key=CANARY_KEY)
    assert restored == backend and restored.resolve_api_key() == CANARY_KEY
    with pytest.raises(ValueError, match="unknown BackendConfig fields"):
        BackendConfig.from_dict({"model": "gpt-4o", "temperature": 1})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": ""}, "needs a model"),
        ({"model": "m", "provider": "anthropic"}, "unknown provider"),
        ({"model": "m", "provider": "azure"}, "azure_endpoint"),
        ({"model": "m", "timeout": 0}, "timeout"),
    ],
)
def test_bad_backend_settings_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        BackendConfig(**kwargs)


def test_prices_match_dated_model_names_by_prefix() -> None:
    table = PriceTable.default()
    assert table.price("gpt-4o-2024-08-06") == table.price("gpt-4o")
    assert table.price("gpt-4o-mini-2024-07-18") == table.price("gpt-4o-mini")
    assert table.price("llava-med-7b") is None
    assert table.cost("gpt-4o", 1_000_000, 1_000_000) == pytest.approx(12.5)
    assert PriceTable.from_dict(table.to_dict()).prices == table.prices


def test_estimate_cost_reports_unpriced_models() -> None:
    body = {"model": "served-model", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 100}
    estimate = estimate_cost([body])
    assert estimate.cost_usd is None and estimate.unpriced_models == ["served-model"]
    assert "unknown" in str(estimate)
    priced = estimate_cost([body], PriceTable().set("served-model", 1.0, 2.0))
    assert priced.cost_usd == pytest.approx((estimate.prompt_tokens * 1.0 + 100 * 2.0) / 1e6)
