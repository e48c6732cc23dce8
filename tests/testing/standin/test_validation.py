"""Refused requests: the API key, the body's checks and OpenAI-style error bodies."""

from __future__ import annotations

import openai
import pytest

from tests.testing.standin.helpers import (
    post_json,
    user_messages,
)


def test_stream_is_refused_with_an_openai_style_400(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=user_messages(), stream=True)
    assert caught.value.status_code == 400
    assert "stream" in caught.value.body["message"]


def test_missing_or_malformed_authorization_is_401(server):
    body = {"model": "gpt-4o", "messages": user_messages()}
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Token abc"}):
        status, _, payload = post_json(server.base_url + "/chat/completions", body, headers)
        assert status == 401
        assert set(payload["error"]) >= {"message", "type", "code"}
    status, _, _ = post_json(
        server.base_url + "/chat/completions", body, {"Authorization": "Bearer anything"}
    )
    assert status == 200


def test_invalid_bodies_get_clear_400_errors(server):
    headers = {"Authorization": "Bearer k"}
    status, _, payload = post_json(
        server.base_url + "/chat/completions", {"model": "m", "messages": []}, headers
    )
    assert status == 400 and "messages" in payload["error"]["message"]
    bad_part = {"model": "m", "messages": [{"role": "user", "content": [{"type": "audio"}]}]}
    status, _, payload = post_json(server.base_url + "/chat/completions", bad_part, headers)
    assert status == 400 and "audio" in payload["error"]["message"]
