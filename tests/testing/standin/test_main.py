"""`python -m biomed_vital.testing.standin`: the command line of the stand-in server."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest
from openai import OpenAI

from biomed_vital.cli.commands.serve_standin import ServeStandInArguments, main
from biomed_vital.testing import StandInConfig, StandInServer
from tests.testing.standin.helpers import (
    API_KEY,
    user_messages,
)


def test_command_line_prints_the_base_url_and_serves():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "biomed_vital.testing.standin",
            "--port",
            "0",
            "--rpm",
            "50",
            "--fault",
            "truncated=1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", url)
        with OpenAI(base_url=url, api_key=API_KEY, max_retries=0) as client:
            assert (
                client.chat.completions.create(model="m", messages=user_messages()).choices[0].finish_reason
                == "length"
            )
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()


def test_command_line_rejects_bad_fault_names(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--fault", "explode=0.5"])
    assert caught.value.code == 2
    assert "explode" in capsys.readouterr().err


def test_help_lists_every_option_with_its_help_and_default(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--help"], prog="python -m biomed_vital.testing.standin")
    assert caught.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    for field in [*dataclasses.fields(ServeStandInArguments), *dataclasses.fields(StandInConfig)]:
        flag = f"--{field.name.replace('_', '-')}" if "_" in field.name else f"--{field.name}"
        assert flag in help_text, flag
        assert " ".join(field.metadata["help"].split()) in help_text, field.name
    assert "(default: 8000)" in help_text and "(default: 30.0)" in help_text
    assert "--model MODEL" in help_text and "--fault KIND=P" in help_text


def test_a_subprocess_server_gets_the_whole_config_through_the_command_line():
    config = StandInConfig(rpm=40, fault=["truncated=1.0"], models=["only-this-model"], seed=5)
    with (
        StandInServer(config, subprocess=True) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client,
    ):
        assert [model.id for model in client.models.list()] == ["only-this-model"]
        raw = client.chat.completions.with_raw_response.create(model="m", messages=user_messages())
        assert raw.headers["x-ratelimit-limit-requests"] == "40"
        assert raw.parse().choices[0].finish_reason == "length"


def test_a_config_and_single_settings_together_are_refused():
    with pytest.raises(ValueError, match="rpm"):
        StandInServer(StandInConfig(), rpm=5)
