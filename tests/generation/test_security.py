"""The API key never leaks: not into Datasets, saved files, the cache, logs, errors or reprs."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from biomed_vital.engine import RequestEngine, scrub_secrets
from biomed_vital.generation import GPT4VGenerator, GPT4VJudge
from biomed_vital.testing import FaultConfig, StandInServer
from tests.generation.helpers import (
    AZURE_CANARY_KEY,
    CANARY_KEY,
    CANARY_KEYS,
    VLLM_CANARY_TOKEN,
    make_figures,
)


class _EchoingUnauthorized(BaseHTTPRequestHandler):
    """Answers 401 and echoes the key back, in full and masked, as careless servers do."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        key = self.headers.get("Authorization", "").partition(" ")[2]
        masked = key[:8] + "*" * 8 + key[-4:]
        payload = json.dumps(
            {
                "error": {
                    "message": f"Incorrect API key provided: {key} ({masked}).",
                    "type": "invalid_request_error",
                }
            }
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def unauthorized_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingUnauthorized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _files_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("key", CANARY_KEYS, ids=["openai-sk", "azure-hex", "vllm-token"])
def test_the_key_appears_nowhere(tmp_path, caplog, capsys, unauthorized_url, key) -> None:
    caplog.set_level(logging.DEBUG)
    figures = make_figures(20, size=8)
    cache_dir = tmp_path / "cache"
    options = {"api_key": key, "cache_dir": str(cache_dir), "backoff_base": 0.01, "max_retries": 2}
    faults = FaultConfig(rate_limit=0.2, server_error=0.2, malformed=0.1, retry_after=0.01)
    with StandInServer(faults=faults, seed=2) as server:
        generator = GPT4VGenerator("gpt-4o", base_url=server.base_url, **options)
        candidates = generator.generate(figures)
        judge = GPT4VJudge("gpt-4o", base_url=server.base_url, **options)
        judged = judge.score(candidates)

    # a separate cache: the cache key is the request, not the endpoint, so stored answers would be reused
    rejected_options = {**options, "cache_dir": str(tmp_path / "cache-401")}
    rejected = GPT4VGenerator("gpt-4o", base_url=unauthorized_url, **rejected_options).generate(
        figures.select(range(3))
    )
    assert set(rejected["status"][:]) == {"error"}
    assert all("HTTP 401" in error for error in rejected["error"][:])
    assert all("Incorrect API key provided" in error for error in rejected["error"][:])

    judged.save_to_disk(str(tmp_path / "saved"))
    rejected.remove_columns("image").to_json(str(tmp_path / "rejected.jsonl"))
    texts = [
        json.dumps(candidates.remove_columns("image").to_list()),
        json.dumps(judged.select_columns([c for c in judged.column_names if c != "image"]).to_list()),
        json.dumps(rejected.select_columns([c for c in rejected.column_names if c != "image"]).to_list()),
        _files_text(tmp_path / "saved"),
        (tmp_path / "rejected.jsonl").read_text(),
        _files_text(cache_dir),
        _files_text(tmp_path / "cache-401"),
        _files_text(tmp_path / "cache-401"),
        caplog.text,
        *capsys.readouterr(),
        repr(generator),
        repr(judge),
        repr(generator.engine),
        str(generator.engine.backend),
        json.dumps(generator.engine.backend.to_dict()),
        json.dumps(generator.engine.config.to_dict()),
        str(generator.engine.last_summary),
        json.dumps(generator.last_summary),
        json.dumps(generator.to_dict()),
        json.dumps(judge.to_dict()),
    ]
    leaks = [i for i, text in enumerate(texts) if key in text or key[:8] in text or key[-10:] in text]
    assert leaks == []


def test_configuration_errors_do_not_echo_the_key(tmp_path) -> None:
    with pytest.raises(TypeError) as error:
        RequestEngine("gpt-4o", api_key=CANARY_KEY)  # api_key belongs to BackendConfig, not the engine
    assert CANARY_KEY not in str(error.value)
    with pytest.raises(TypeError) as error:
        GPT4VGenerator("gpt-4o", api_key=CANARY_KEY, not_an_option=1)
    assert CANARY_KEY not in str(error.value)


def test_scrub_secrets_masks_keys_and_key_shaped_strings() -> None:
    text = f"key {CANARY_KEY}, masked sk-test-********7890, header Bearer abcdefghijkl, api_key=zyxwvutsrq"
    scrubbed = scrub_secrets(text, [CANARY_KEY])
    assert CANARY_KEY not in scrubbed and "abcdefghijkl" not in scrubbed and "zyxwvutsrq" not in scrubbed


@pytest.mark.parametrize("key", [AZURE_CANARY_KEY, VLLM_CANARY_TOKEN], ids=["azure-hex", "vllm-token"])
def test_scrub_secrets_removes_the_exact_key_that_no_pattern_catches(key) -> None:
    masked = key[:8] + "*" * 8 + key[-4:]
    text = f"Incorrect API key provided: {key} ({masked}); the key was {key}."
    assert key in scrub_secrets(text, [])  # the key-shaped patterns leave such a key alone ...
    scrubbed = scrub_secrets(text, [key])  # ... so it is the exact secret that removes it
    assert key not in scrubbed and key[:8] not in scrubbed
    assert scrubbed.startswith("Incorrect API key provided: *** (")
