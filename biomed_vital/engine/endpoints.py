"""Several endpoints behind one engine: replicas of a vLLM server, Azure OpenAI deployments in several regions.

``EngineConfig(endpoints=[...])`` lists where requests may go. Each entry holds
:class:`~biomed_vital.engine.BackendConfig` fields (``base_url``, ``azure_endpoint``, ``api_version``,
``api_key_env``, ``model`` for a deployment name, ...; the ones left out come from the engine's backend)
and its own limits: ``rpm``, ``tpm`` (given, or learnt from that endpoint's ``x-ratelimit-*`` headers, or
from its 429s when it sends none, by its own :class:`~biomed_vital.engine.limits.RateLimiter`) and ``max_concurrency`` (requests in flight
there; default the engine's ``max_concurrency``).

An :class:`EndpointPool` hands each attempt of a request to the endpoint with the most free room
(free slots, and not paused by a spent rate limit), so a slow endpoint only holds its own slots and the
others keep going. After ``OUT_AFTER`` failures in a row that concern the endpoint (unreachable, timeouts,
5xx, 401/403/404), it is taken out for a while (5 s, doubling up to 5 minutes); then one request probes
it, and a success brings it back. A request that failed on one endpoint is retried on another.

The cache key is made from the request body with the engine's model, before an endpoint is chosen, so it
does not depend on which endpoint answered; an entry's ``model`` (an Azure deployment name) replaces the
body's model only on the wire.

Example:
    >>> from biomed_vital.engine import BackendConfig, RequestEngine
    >>> engine = RequestEngine(
    ...     BackendConfig("Qwen/Qwen2-VL-7B-Instruct", base_url="http://gpu1:8000/v1"),
    ...     endpoints=[{"base_url": f"http://gpu{i}:8000/v1", "max_concurrency": 32} for i in range(1, 5)],
    ... )
    >>> len(engine.config.endpoints)
    4
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from biomed_vital.engine.backends import BackendConfig, EndpointError, scrub_secrets
from biomed_vital.engine.limits import RateLimiter
from biomed_vital.engine.rate_learning import RateLearner

__all__ = [
    "OUT_AFTER",
    "Endpoint",
    "EndpointPool",
    "EndpointStats",
    "Lease",
    "check_backend",
    "check_endpoints",
    "read_endpoints",
]

logger = logging.getLogger("biomed_vital.generation")

#: failures in a row, of the kind that concern the endpoint, after which it is taken out for a while
OUT_AFTER = 3
OUT_SECONDS_FIRST = 5.0
OUT_SECONDS_MAX = 300.0
# HTTP statuses that say something about the endpoint rather than the request (429 is the limiter's)
_ENDPOINT_STATUSES = frozenset({401, 403, 404, 408, 500, 502, 503, 504})
_LIMIT_FIELDS = ("rpm", "tpm", "max_concurrency", "name")


def read_endpoints(value: str | Sequence[Any] | Any) -> list[dict[str, Any]]:
    """Validate a list of endpoints (or read it from a YAML/JSON file); returns plain dicts.

    Each entry is a mapping of :class:`BackendConfig` fields and ``rpm``, ``tpm``, ``max_concurrency``,
    ``name``, or a :class:`BackendConfig`. A file holds such a list, or ``{"endpoints": [...]}``. Keys
    belong in the environment (``api_key_env``), never in the list.

    Example:
        >>> read_endpoints([{"base_url": "http://gpu1:8000/v1", "max_concurrency": 32}])[0]["max_concurrency"]
        32
    """
    source = ""
    if isinstance(value, str | Path):
        source = f"{value}: "
        path = Path(value)
        if not path.is_file():
            raise FileNotFoundError(
                f"endpoints file {value} does not exist (a YAML or JSON list of endpoints)"
            )
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            import yaml

            value = yaml.safe_load(text)
        else:
            value = json.loads(text)
        if isinstance(value, Mapping) and "endpoints" in value:
            value = value["endpoints"]
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ValueError(f"{source}endpoints must be a non-empty list of endpoints, got {value!r}")
    known = {f.name for f in fields(BackendConfig)} | set(_LIMIT_FIELDS)
    entries: list[dict[str, Any]] = []
    for number, entry in enumerate(value):
        if isinstance(entry, BackendConfig):
            entry = entry.to_dict()
        if not isinstance(entry, Mapping):
            raise ValueError(f"{source}endpoint {number} is not a mapping of BackendConfig fields: {entry!r}")
        entry = {str(k).replace("-", "_"): v for k, v in entry.items() if v is not None}
        if "api_key" in entry:
            raise ValueError(
                f"{source}endpoint {number} holds an api_key; keys do not belong in a list of endpoints, "
                "set api_key_env to the environment variable that holds it"
            )
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ValueError(
                f"{source}endpoint {number} has unknown fields {unknown}; known: {sorted(known)}"
            )
        if not (entry.get("base_url") or entry.get("azure_endpoint")):
            raise ValueError(f"{source}endpoint {number} needs a base_url or an azure_endpoint")
        for name in ("rpm", "tpm"):
            if entry.get(name) is not None and float(entry[name]) <= 0:
                raise ValueError(f"{source}endpoint {number}: {name} must be > 0, got {entry[name]}")
        if entry.get("max_concurrency") is not None and int(entry["max_concurrency"]) < 1:
            raise ValueError(f"{source}endpoint {number}: max_concurrency must be >= 1")
        backend_part = {k: v for k, v in entry.items() if k not in _LIMIT_FIELDS}
        BackendConfig(**{"model": "check", **backend_part})  # a bad URL or provider fails now, naming itself
        entries.append(entry)
    return entries


async def check_backend(backend: BackendConfig) -> None:
    """One free request (``GET /models``) to check that ``backend`` is reachable and takes the key.

    Raises :class:`EndpointError` naming the URL; a server without ``/models`` passes.
    """
    import openai

    problem = backend.missing_key_error()
    if problem:
        raise EndpointError(problem)
    url = backend.endpoint
    client = backend.create_client()
    try:
        await asyncio.wait_for(client.models.list(), timeout=min(backend.timeout, 30.0))
    except (TimeoutError, openai.APIConnectionError) as error:
        reason = str(getattr(error, "message", None) or error) or type(error).__name__
        raise EndpointError(
            f"cannot reach {url} ({reason}); check the URL and that the server is running"
        ) from None
    except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
        message = scrub_secrets(str(error.message), backend.secrets())
        raise EndpointError(
            f"{url} refused the API key (HTTP {error.status_code}: {message}); check {backend.api_key_env}"
        ) from None
    except openai.APIStatusError as error:  # no /models (404), or a passing server error: go on
        logger.info("endpoint check of %s: HTTP %s, continuing", url, error.status_code)
    finally:
        await client.close()


async def check_endpoints(backend: BackendConfig, config: Any) -> None:
    """:func:`check_backend` for an engine: its backend, or each of ``config.endpoints``; with several, it
    fails only when none can be used (the others are logged and left to the pool to take out)."""
    if not config.endpoints:
        await check_backend(backend)
        return
    pool = EndpointPool.for_engine(backend, config)
    problems = []
    for endpoint in pool.endpoints:
        try:
            await check_backend(endpoint.backend)
        except EndpointError as error:
            problems.append(str(error))
    if len(problems) == len(pool.endpoints):
        raise EndpointError("no endpoint can be used: " + "; ".join(problems))
    for problem in problems:
        logger.warning("%s (the other endpoints go on)", problem)


@dataclass
class EndpointStats:
    """What one endpoint did in a run."""

    name: str
    attempts: int = 0
    ok: int = 0
    failed: int = 0
    taken_out: int = 0


@dataclass
class Endpoint:
    """One endpoint of a pool: its backend, client, limiter, room and health."""

    backend: BackendConfig
    limiter: RateLimiter
    capacity: int
    name: str = ""
    model: str | None = None  # the model name sent on the wire, when it differs from the engine's
    client: Any = None
    in_flight: int = 0
    failures: int = 0  # endpoint failures in a row
    out_until: float = 0.0
    out_since: float = float("-inf")  # failures of attempts started before this do not count again
    probing: bool = False
    outs: int = 0
    stats: EndpointStats = field(default_factory=lambda: EndpointStats(""))

    def room(self, now: float) -> int:
        """How many more requests it takes now (0 while out; 1 while probing after being out)."""
        if now < self.out_until:
            return 0
        limit = 1 if self.probing else self.capacity
        return max(0, limit - self.in_flight)


class Lease:
    """One attempt of one request on one endpoint; :meth:`done` gives the slot back (once)."""

    __slots__ = ("_pool", "endpoint", "finished", "started")

    def __init__(self, pool: EndpointPool, endpoint: Endpoint) -> None:
        self._pool, self.endpoint = pool, endpoint
        self.started = time.monotonic()
        self.finished = False

    @property
    def client(self) -> Any:
        """The endpoint's SDK client."""
        return self.endpoint.client

    @property
    def limiter(self) -> RateLimiter:
        """The endpoint's rate limiter."""
        return self.endpoint.limiter

    @property
    def url(self) -> str:
        """The endpoint's URL (for messages)."""
        return self.endpoint.backend.endpoint

    def body(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The body as this endpoint takes it (its own model name, e.g. an Azure deployment)."""
        model = self.endpoint.model
        return body if model is None or body.get("model") == model else {**body, "model": model}

    def done(self, *, status: int | None = None, error: BaseException | None = None) -> None:
        """Give the slot back and record the outcome: success (neither given), an HTTP status or an error."""
        if not self.finished:
            self.finished = True
            self._pool.release(self.endpoint, status=status, error=error, started=self.started)


class EndpointPool:
    """Where each attempt of a request goes: the endpoint with the most room (see the module docstring).

    Build it with :meth:`for_engine`; :attr:`capacity` is how many requests may be in flight over all
    endpoints (the engine runs that many workers).
    """

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        if not endpoints:
            raise ValueError("an endpoint pool needs at least one endpoint")
        self.endpoints = list(endpoints)
        self._changed: asyncio.Event | None = None

    @classmethod
    def for_engine(
        cls, backend: BackendConfig, config: Any, learners: dict[str, RateLearner] | None = None
    ) -> EndpointPool:
        """The pool of an engine: its one backend, or ``config.endpoints`` with the backend's settings as defaults.

        ``learners`` holds each endpoint's :class:`~biomed_vital.engine.rate_learning.RateLearner` by name
        (filled in here for endpoints without one), so a rate learnt from 429s in one run is kept in the next.

        Example:
            >>> from biomed_vital.engine import EngineConfig
            >>> pool = EndpointPool.for_engine(BackendConfig("m", base_url="http://a:8000/v1"),
            ...                                EngineConfig(endpoints=[{"base_url": "http://b:8000/v1"},
            ...                                                        {"base_url": "http://c:8000/v1"}]))
            >>> [e.name for e in pool.endpoints], pool.capacity
            (['http://b:8000/v1', 'http://c:8000/v1'], 32)
        """
        learners = {} if learners is None else learners

        def limiter(name: str, rpm: float | None, tpm: float | None, capacity: int) -> RateLimiter:
            learner = learners.setdefault(name, RateLearner(capacity))
            return RateLimiter(rpm, tpm, max_concurrency=capacity, learner=learner)

        if not config.endpoints:
            capacity = config.max_concurrency
            endpoint = Endpoint(
                backend, limiter(backend.endpoint, config.rpm, config.tpm, capacity), capacity
            )
            endpoint.name = backend.endpoint
            endpoint.stats.name = endpoint.name
            return cls([endpoint])
        defaults = backend.to_dict()
        for own_field in ("base_url", "azure_endpoint", "provider", "api_key_env"):
            defaults.pop(own_field, None)
        endpoints = []
        for entry in config.endpoints:
            limits = {name: entry.get(name) for name in _LIMIT_FIELDS}
            settings = {**defaults, **{k: v for k, v in entry.items() if k not in _LIMIT_FIELDS}}
            own = BackendConfig(**settings)
            if "api_key_env" not in entry and own.provider == backend.provider:
                # the same kind of endpoint as the engine's: the engine's key (given in Python, or its variable)
                own = BackendConfig(**settings, api_key_env=backend.api_key_env, api_key=backend.api_key)
            name = str(limits["name"] or own.endpoint)
            capacity = int(limits["max_concurrency"] or config.max_concurrency)
            endpoint = Endpoint(
                own,
                limiter(name, limits["rpm"], limits["tpm"], capacity),
                capacity,
                name=name,
                model=own.model if own.model != backend.model else None,
            )
            endpoint.stats.name = endpoint.name
            endpoints.append(endpoint)
        return cls(endpoints)

    @property
    def capacity(self) -> int:
        """Requests in flight over all endpoints at most."""
        return sum(endpoint.capacity for endpoint in self.endpoints)

    @property
    def label(self) -> str:
        """The endpoint's URL, or ``N endpoints``."""
        return self.endpoints[0].name if len(self.endpoints) == 1 else f"{len(self.endpoints)} endpoints"

    @property
    def effective_rpm(self) -> float | None:
        """The requests-per-minute rate the pool keeps to over all endpoints (``None``: one is unpaced)."""
        rates = [endpoint.limiter.effective_rpm for endpoint in self.endpoints]
        return None if any(rate is None for rate in rates) else sum(rate or 0.0 for rate in rates)

    @property
    def rpm_source(self) -> str:
        """Where :attr:`effective_rpm` comes from (the endpoints' sources, when they agree; else ``"mixed"``)."""
        sources = {endpoint.limiter.rpm_source for endpoint in self.endpoints}
        return sources.pop() if len(sources) == 1 else "mixed"

    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` was called."""
        return self._changed is not None

    def open(self) -> None:
        """Create the SDK clients (the event loop that runs the requests must be running)."""
        self._changed = asyncio.Event()
        for endpoint in self.endpoints:
            endpoint.client = endpoint.backend.create_client()

    async def close(self) -> None:
        """Close the SDK clients."""
        for endpoint in self.endpoints:
            if endpoint.client is not None:
                await endpoint.client.close()
                endpoint.client = None

    async def acquire(self, tokens: int = 0) -> Lease:
        """Wait for room on some endpoint and for its rate limiter; returns the lease of one attempt."""
        if self._changed is None:
            raise RuntimeError("EndpointPool.open() must be called before acquire()")
        while True:
            now = time.monotonic()
            best = self._choose(now)
            if best is not None:
                best.in_flight += 1
                best.stats.attempts += 1
                lease = Lease(self, best)
                try:
                    await best.limiter.acquire(tokens)
                except BaseException:
                    lease.done()
                    raise
                return lease
            self._changed.clear()
            comeback = [e.out_until - now for e in self.endpoints if e.out_until > now]
            with contextlib.suppress(TimeoutError):  # an endpoint that was out may be back
                await asyncio.wait_for(self._changed.wait(), timeout=min(comeback) if comeback else None)

    def _choose(self, now: float) -> Endpoint | None:
        if len(self.endpoints) == 1:
            only = self.endpoints[0]
            return only if only.in_flight < only.capacity else None
        best, best_score = None, None
        for endpoint in self.endpoints:
            room = endpoint.room(now)
            if room <= 0:
                continue
            # not paused by a spent rate limit first, then the largest share of free slots
            score = (endpoint.limiter.paused_for <= 0, room / endpoint.capacity, room)
            if best_score is None or score > best_score:
                best, best_score = endpoint, score
        return best

    def release(
        self,
        endpoint: Endpoint,
        *,
        status: int | None = None,
        error: BaseException | None = None,
        started: float = float("inf"),
    ) -> None:
        """Give a slot back; an outcome that concerns the endpoint counts towards taking it out.

        Failures of attempts ``started`` before the endpoint was last taken out are not counted again
        (the requests in flight when it died all fail together).
        """
        endpoint.in_flight -= 1
        concerns_endpoint = (status in _ENDPOINT_STATUSES) or (status is None and _is_connection_error(error))
        if status is None and error is None:
            endpoint.stats.ok += 1
            endpoint.failures = 0
            if endpoint.probing:
                endpoint.probing = False
                logger.info("endpoint %s answers again; it is back in", endpoint.name)
        else:
            endpoint.stats.failed += 1
            if concerns_endpoint and started >= endpoint.out_since:
                endpoint.failures += 1
                if endpoint.probing or (endpoint.failures >= OUT_AFTER and len(self.endpoints) > 1):
                    self._take_out(endpoint)
            elif status is not None and status != 429:
                endpoint.failures = 0  # the endpoint answered; the request was the problem
        if self._changed is not None:
            self._changed.set()

    def _take_out(self, endpoint: Endpoint) -> None:
        seconds = min(OUT_SECONDS_MAX, OUT_SECONDS_FIRST * 2**endpoint.outs)
        endpoint.outs += 1
        endpoint.stats.taken_out += 1
        endpoint.out_since = time.monotonic()
        endpoint.out_until = endpoint.out_since + seconds
        endpoint.probing, endpoint.failures = True, 0
        logger.warning(
            "endpoint %s failed %d times in a row; taking it out for %.0f s",
            endpoint.name,
            OUT_AFTER,
            seconds,
        )

    def stats(self) -> list[EndpointStats]:
        """What each endpoint did so far."""
        return [endpoint.stats for endpoint in self.endpoints]


def _is_connection_error(error: BaseException | None) -> bool:
    if error is None:
        return False
    import openai

    return isinstance(error, openai.APIConnectionError)
