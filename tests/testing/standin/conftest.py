"""A stand-in server shared by the tests of a module, and an openai client for it."""

from __future__ import annotations

import pytest
from openai import OpenAI

from biomed_vital.testing import StandInServer
from tests.testing.standin.helpers import API_KEY


@pytest.fixture(scope="module")
def server():
    with StandInServer(seed=3) as running:
        yield running


@pytest.fixture()
def client(server):
    with OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as sdk_client:
        yield sdk_client
