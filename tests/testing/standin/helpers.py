"""Requests the stand-in tests send (synthetic text, not medical content)."""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request

from PIL import Image

# Synthetic stand-in text for protocol tests (not medical content).
CAPTION = "Synthetic test caption: alpha beta gamma panel. Second synthetic sentence about delta."
USER_PROMPT = f"Caption: {CAPTION}\nMentions:\n- The synthetic delta panel is referenced here.\n"
API_KEY = "sk-offline-secret-7f3a9c"


def user_messages(text: str = USER_PROMPT) -> list[dict]:
    return [{"role": "user", "content": text}]


def judge_messages(answer: str) -> list[dict]:
    return [
        {"role": "system", "content": "Rate the answer and give a score from 0 to 10."},
        {"role": "user", "content": f"{USER_PROMPT}Question: What is in the panel?\nAnswer: {answer}"},
    ]


def png_data_url(size: tuple[int, int] = (64, 48)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 40, 200)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def post_json(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())
