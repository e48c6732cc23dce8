"""The engine tests share the generation tests' fixtures: an isolated cache, synthetic figures, a stand-in server."""

from tests.generation.conftest import figures, isolated_cache, server  # noqa: F401
