"""Where chat requests go: OpenAI, Azure OpenAI, or any OpenAI-compatible server.

A :class:`BackendConfig` is plain, serialisable configuration (like a distilabel LLM's
``dump()``): it can be written into a dataset card or a YAML file and rebuilt later. The API
key is the one thing it never serialises or prints; it is read from the argument or from the
environment when the client is built, and every error text the engine stores goes through
:func:`scrub_secrets` first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

__all__ = ["DEFAULT_MODEL", "BackendConfig", "EndpointError", "scrub_secrets"]

Provider = Literal["openai", "azure", "openai_compatible"]

#: The model used when none is named.
DEFAULT_MODEL = "gpt-4o"

_KEY_ENV_BY_PROVIDER = {
    "openai": "OPENAI_API_KEY",
    "azure": "AZURE_OPENAI_API_KEY",
    "openai_compatible": "OPENAI_API_KEY",
}

# Shapes of credentials that can show up in provider error bodies even when they are not ours
# (OpenAI echoes a masked key on 401; proxies echo Authorization headers).
_SECRET_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_\-*]{6,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-~+/=]{6,}"),
    re.compile(r"(?i)(api[-_ ]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._\-~+/=*]{6,}"),
]


class EndpointError(ValueError):
    """The endpoint cannot be used: it is unreachable, not an http(s) URL, or refuses the key.

    Raised by :meth:`~biomed_vital.engine.RequestEngine.check` before any paid request; the message names
    the URL and says what to check.
    """


def _check_url(name: str, url: str | None) -> None:
    if url is None:
        return
    from urllib.parse import urlparse

    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise EndpointError(
            f"{name}={url!r} is not an http(s) URL; give the server's address, e.g. http://localhost:8000/v1"
        )


def scrub_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove API keys from ``text`` before it is stored, logged or raised.

    The exact ``secrets`` given are replaced wherever they occur (also their first and last
    8 characters, which is how providers mask keys), then anything shaped like a key
    (``sk-...``, ``Bearer ...``, ``api_key=...``) is masked.

    Example:
        >>> scrub_secrets("Incorrect API key provided: sk-test-CANARY-1234567890", ["sk-test-CANARY-1234567890"])
        'Incorrect API key provided: ***'
    """
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, "***")
        if len(secret) >= 16:  # masked echoes such as "sk-test-****7890" keep a prefix and suffix
            text = text.replace(secret[:8], "***").replace(secret[-8:], "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "***", text)
    return text


@dataclass(repr=False)
class BackendConfig:
    """Connection settings for one chat-completions endpoint (the key is never serialised).

    Args:
        model: model name (OpenAI, or the served model name of a vLLM/SGLang server); for
            Azure, the *deployment* name.
        provider: ``"openai"``, ``"azure"`` or ``"openai_compatible"``. Left as ``None`` it
            is ``"azure"`` when ``azure_endpoint`` is given, ``"openai_compatible"`` when
            ``base_url`` is given, else ``"openai"``.
        base_url: root of an OpenAI-compatible API, e.g. ``http://localhost:8000/v1``.
        azure_endpoint: ``https://<resource>.openai.azure.com``.
        api_version: Azure API version, e.g. ``"2024-10-21"``.
        api_key: the key; when ``None`` it is read from ``api_key_env`` (default
            ``OPENAI_API_KEY``, or ``AZURE_OPENAI_API_KEY`` for Azure) at connection time.
            Local servers that need no key get a placeholder.
        api_key_env: the environment variable to read the key from.
        organization: OpenAI organization id (optional).
        timeout: seconds to wait for one response before the attempt counts as a timeout.
        default_headers: extra HTTP headers sent with every request.

    Example:
        >>> backend = BackendConfig(model="gpt-4o", api_key="sk-secret-value-123456")
        >>> backend
        BackendConfig(model='gpt-4o', provider='openai', timeout=120.0, api_key=<set>)
        >>> "sk-secret" in str(backend.to_dict())
        False
        >>> BackendConfig(model="Qwen/Qwen2-VL-7B-Instruct", base_url="http://localhost:8000/v1").provider
        'openai_compatible'
    """

    model: str = field(
        default=DEFAULT_MODEL,
        metadata={
            "help": "Model name; for Azure OpenAI the deployment, for vLLM/SGLang the served model name."
        },
    )
    provider: Provider | None = field(
        default=None,
        metadata={
            "help": "'openai', 'azure' or 'openai_compatible'; left empty it follows from azure_endpoint / base_url."
        },
    )
    base_url: str | None = field(
        default=None, metadata={"help": "Root of an OpenAI-compatible API, e.g. http://localhost:8000/v1."}
    )
    azure_endpoint: str | None = field(
        default=None, metadata={"help": "Azure OpenAI endpoint, https://<resource>.openai.azure.com."}
    )
    api_version: str | None = field(default=None, metadata={"help": "Azure API version, e.g. 2024-10-21."})
    api_key: str | None = field(
        default=None,
        compare=False,
        metadata={
            "help": "The API key (never serialised; read from api_key_env when empty).",
            "secret": True,
        },
    )
    api_key_env: str | None = field(
        default=None,
        metadata={
            "help": "Environment variable holding the key (default OPENAI_API_KEY; AZURE_OPENAI_API_KEY for Azure)."
        },
    )
    organization: str | None = field(default=None, metadata={"help": "OpenAI organization id."})
    timeout: float = field(
        default=120.0, metadata={"help": "Seconds to wait for one response before the attempt times out."}
    )
    default_headers: dict[str, str] = field(
        default_factory=dict,
        metadata={"help": "Extra HTTP headers sent with every request (config file only).", "cli": False},
    )

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("BackendConfig needs a model name (for Azure OpenAI: the deployment name)")
        if self.provider is None:
            if self.azure_endpoint:
                self.provider = "azure"
            elif self.base_url:
                self.provider = "openai_compatible"
            else:
                self.provider = "openai"
        if self.provider not in _KEY_ENV_BY_PROVIDER:
            raise ValueError(
                f"unknown provider {self.provider!r}; use one of {sorted(_KEY_ENV_BY_PROVIDER)} "
                "(an OpenAI-compatible server such as vLLM or SGLang is 'openai_compatible' with base_url)"
            )
        if self.provider == "azure" and not (self.azure_endpoint or self.base_url):
            raise ValueError("provider='azure' needs azure_endpoint='https://<resource>.openai.azure.com'")
        if self.provider == "openai_compatible" and not self.base_url:
            raise ValueError("provider='openai_compatible' needs base_url, e.g. 'http://localhost:8000/v1'")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout}")
        _check_url("base_url", self.base_url)
        _check_url("azure_endpoint", self.azure_endpoint)
        if self.api_key_env is None:
            self.api_key_env = _KEY_ENV_BY_PROVIDER[self.provider]

    def __repr__(self) -> str:
        shown: dict[str, Any] = {"model": self.model, "provider": self.provider}
        for name in ("base_url", "azure_endpoint", "api_version"):
            if getattr(self, name):
                shown[name] = getattr(self, name)
        shown["timeout"] = self.timeout
        text = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"BackendConfig({text}, api_key={'<set>' if self.api_key else '<from env>'})"

    __str__ = __repr__

    @property
    def endpoint(self) -> str:
        """The URL requests go to (for messages): ``base_url``, the Azure endpoint, or OpenAI's API.

        Example:
            >>> BackendConfig(model="m", base_url="http://localhost:8000/v1").endpoint
            'http://localhost:8000/v1'
        """
        return self.base_url or self.azure_endpoint or "https://api.openai.com/v1"

    def missing_key_error(self) -> str | None:
        """Why requests cannot be authorised (no key where the provider needs one), or ``None``.

        Example:
            >>> BackendConfig(model="m", base_url="http://localhost:8000/v1").missing_key_error() is None
            True
        """
        if self.resolve_api_key() is not None or self.provider == "openai_compatible":
            return None
        return (
            f"no API key for {self.endpoint}: set the environment variable {self.api_key_env} "
            "(or pass api_key=... in Python)"
        )

    def resolve_api_key(self) -> str | None:
        """The key to send: the argument, else the environment variable ``api_key_env``."""
        if self.api_key:
            return self.api_key
        return os.environ.get(self.api_key_env or "") or None

    def secrets(self) -> list[str]:
        """Every secret this backend may send (used to scrub error texts)."""
        key = self.resolve_api_key()
        return [key] if key else []

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description, without the key.

        Example:
            >>> BackendConfig(model="gpt-4o", api_key="sk-x").to_dict()["model"]
            'gpt-4o'
        """
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "api_key"}
        data["default_headers"] = dict(self.default_headers)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], api_key: str | None = None) -> BackendConfig:
        """Rebuild a config written by :meth:`to_dict` (the key comes from ``api_key`` or the environment).

        Example:
            >>> BackendConfig.from_dict({"model": "gpt-4o"}).provider
            'openai'
        """
        known = {f.name for f in fields(cls)} - {"api_key"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"unknown BackendConfig fields {sorted(unknown)}; known fields are {sorted(known)}"
            )
        return cls(**dict(data), api_key=api_key)

    def create_client(self) -> Any:
        """An ``openai.AsyncOpenAI`` / ``AsyncAzureOpenAI`` client with SDK retries off.

        The request engine owns retries and rate limiting; SDK retries would hide 429s from
        the limiter and multiply attempts.
        """
        import openai

        problem = self.missing_key_error()
        if problem:
            raise EndpointError(problem)
        key = self.resolve_api_key() or "no-key"  # local servers (vLLM, SGLang) accept any key
        common: dict[str, Any] = {
            "api_key": key,
            "max_retries": 0,
            "timeout": self.timeout,
            "default_headers": dict(self.default_headers) or None,
        }
        if self.provider == "azure" and self.azure_endpoint:
            return openai.AsyncAzureOpenAI(
                azure_endpoint=self.azure_endpoint, api_version=self.api_version, **common
            )
        if self.provider == "azure":  # a full deployment URL given as base_url
            return openai.AsyncAzureOpenAI(
                base_url=str(self.base_url), api_version=self.api_version, **common
            )
        return openai.AsyncOpenAI(base_url=self.base_url, organization=self.organization, **common)
