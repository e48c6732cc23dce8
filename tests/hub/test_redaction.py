"""Secrets never reach a card: by value anywhere in the text, by name in tables."""

from __future__ import annotations

from biomed_vital.hub import REDACTED, dataset_card, model_card, redact
from biomed_vital.hub.redaction import redact_items
from tests.hub.helpers import HF_SECRET, SECRET, front_matter, stand_in_candidates


def test_redact_replaces_every_kind_of_token_and_leaves_plain_text():
    github = "ghp_" + "A1b2C3d4E5f6G7h8"
    aws = "AKIA" + "ABCDEFGHIJKLMNOP"
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"
    text = (
        f"openai {SECRET}, hub {HF_SECRET}, github {github}, aws {aws}, jwt {jwt}, header Bearer abcdefghij12"
    )
    redacted = redact(text)
    for secret in (SECRET, HF_SECRET, github, aws, jwt, "abcdefghij12"):
        assert secret not in redacted
    assert redacted.count(REDACTED) == 6
    plain = "learning rate 2e-5, model gpt-4o-mini, skip-connections, hf_ (too short)"
    assert redact(plain) == plain


def test_redact_items_redacts_secret_names_whatever_the_value_and_keeps_numbers():
    items = redact_items({"wandb_api_key": "abc123456789", "Authorization": "x", "note": SECRET, "epochs": 3})
    assert items == [
        ("wandb_api_key", REDACTED),
        ("Authorization", REDACTED),
        ("note", REDACTED),
        ("epochs", 3),
    ]
    assert redact_items(None) == []


def test_cards_never_contain_secrets():
    extra = {"openai_api_key": SECRET, "hf_token": "plain-looking-value", "note": f"called with {HF_SECRET}"}
    card = dataset_card(
        stand_in_candidates(),
        stage="candidates",
        description=f"Generated with key {SECRET}",
        extra={**extra, "license": "cc-by-4.0", "n_figures": 3},
    )
    text = str(card)
    for secret in (SECRET, HF_SECRET, "plain-looking-value"):
        assert secret not in text
    assert "| openai_api_key | [redacted] |" in text and "| n_figures | 3 |" in text
    assert front_matter(text)["license"] == "cc-by-4.0"
    model = model_card(
        repo_id="user/m",
        model_kind="vlm",
        description=f"tuned ({SECRET})",
        training={"learning_rate": 2e-4, "wandb_api_key": "abc123456789", "run": f"Bearer {HF_SECRET}"},
        usage=f'client = OpenAI(api_key="{SECRET}")',
    )
    for secret in (SECRET, HF_SECRET, "abc123456789"):
        assert secret not in str(model)
