"""What the stand-in server does: :class:`LatencyModel`, :class:`FaultConfig` and :class:`StandInConfig`.

``StandInConfig`` holds every behaviour knob as a plain field, so ``transformers.HfArgumentParser``
turns it into the flags of ``biomed-vital serve-standin`` (help from each field's metadata, one
default per knob); it builds the :class:`LatencyModel` and :class:`FaultConfig` the server uses.
The server's subprocess mode passes a config to its child process as the same flags.

Example:
    >>> config = StandInConfig(rpm=600, latency_median=0.2, latency_p99=2.0, fault=["server_error=0.05"])
    >>> config.fault_config().server_error, round(config.latency_model().sigma, 3)
    (0.05, 0.99)
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from statistics import NormalDist
from typing import Any

from biomed_vital.testing.standin.hashing import unit_interval
from biomed_vital.testing.standin.limiter import WINDOW_SECONDS, SlidingWindowLimiter

__all__ = ["DEFAULT_MODELS", "FAULT_KINDS", "LOCALHOST", "FaultConfig", "LatencyModel", "StandInConfig"]

LOCALHOST = "127.0.0.1"
DEFAULT_MODELS = ("gpt-4o", "gpt-4-vision-preview", "gpt-4o-mini", "standin")
FAULT_KINDS = ("rate_limit", "server_error", "unavailable", "timeout", "disconnect", "malformed", "truncated")
_Z99 = NormalDist().inv_cdf(0.99)  # 2.326...


@dataclass
class LatencyModel:
    """How long the stand-in takes to answer.

    ``median`` seconds, fixed when ``p99`` is None, otherwise log-normal with that median and
    99th percentile (``sigma = ln(p99 / median) / 2.326``); plus ``per_completion_token`` seconds
    per completion token. Samples are a function of ``(seed, request key, attempt)``.

    Example:
        >>> model = LatencyModel(median=0.2, p99=2.0)
        >>> round(model.sigma, 3)
        0.99
        >>> model.sample("some-request-key", attempt=1) == model.sample("some-request-key", attempt=1)
        True
    """

    median: float = 0.0
    p99: float | None = None
    per_completion_token: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.median < 0 or self.per_completion_token < 0:
            raise ValueError(
                f"LatencyModel: median ({self.median}) and per_completion_token "
                f"({self.per_completion_token}) must be >= 0 seconds"
            )
        if self.p99 is not None and (self.median <= 0 or self.p99 < self.median):
            raise ValueError(
                f"LatencyModel: a log-normal latency needs 0 < median <= p99, got median={self.median}, "
                f"p99={self.p99}; pass p99=None for a fixed latency"
            )

    @classmethod
    def fixed(cls, seconds: float, per_completion_token: float = 0.0) -> LatencyModel:
        """Always ``seconds`` (plus the per-token delay)."""
        return cls(median=seconds, per_completion_token=per_completion_token)

    @classmethod
    def lognormal(
        cls, median: float, p99: float, per_completion_token: float = 0.0, seed: int = 0
    ) -> LatencyModel:
        """Log-normal latency with the given median and 99th percentile."""
        return cls(median=median, p99=p99, per_completion_token=per_completion_token, seed=seed)

    @property
    def sigma(self) -> float:
        """The log-normal shape parameter (0 for a fixed latency)."""
        if self.p99 is None or self.median <= 0:
            return 0.0
        return math.log(self.p99 / self.median) / _Z99

    def sample(self, key: str, attempt: int = 1, completion_tokens: int = 0) -> float:
        """The latency in seconds for one attempt of one request body."""
        base = self.median
        if self.sigma > 0:
            u = min(max(unit_interval(self.seed, "latency", key, attempt), 1e-12), 1 - 1e-12)
            base = self.median * math.exp(self.sigma * NormalDist().inv_cdf(u))
        return base + self.per_completion_token * completion_tokens


@dataclass
class FaultConfig:
    """Probabilities of injected faults (each in [0, 1], together at most 1).

    * ``rate_limit``: 429 with ``Retry-After: retry_after`` (independent of the real limiter);
    * ``server_error``: 500; ``unavailable``: 503;
    * ``timeout``: hang ``hang_seconds`` before answering (the client's timeout fires first);
    * ``disconnect``: close the connection without a response;
    * ``malformed``: 200 whose content ignores the requested format;
    * ``truncated``: 200 with the content cut mid-sentence and ``finish_reason="length"``.

    The fault of a request is a function of ``(seed, request key, attempt)``.

    Example:
        >>> faults = FaultConfig(server_error=0.5, seed=1)
        >>> faults.choose("key", 1) == faults.choose("key", 1)
        True
        >>> FaultConfig.from_pairs(["rate_limit=0.2", "truncated=0.1"]).rate_limit
        0.2
    """

    rate_limit: float = 0.0
    server_error: float = 0.0
    unavailable: float = 0.0
    timeout: float = 0.0
    disconnect: float = 0.0
    malformed: float = 0.0
    truncated: float = 0.0
    hang_seconds: float = 30.0
    retry_after: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        for kind in FAULT_KINDS:
            probability = getattr(self, kind)
            if not 0.0 <= probability <= 1.0:
                raise ValueError(
                    f"FaultConfig.{kind}={probability} is not a probability; use a value in [0, 1]"
                )
        total = sum(getattr(self, kind) for kind in FAULT_KINDS)
        if total > 1.0 + 1e-9:
            raise ValueError(f"FaultConfig probabilities add up to {total:.3f} > 1; lower some of them")
        if self.hang_seconds < 0 or self.retry_after < 0:
            raise ValueError("FaultConfig.hang_seconds and retry_after must be >= 0 seconds")

    @classmethod
    def from_pairs(cls, pairs: Sequence[str], **kwargs: Any) -> FaultConfig:
        """Build from ``["kind=probability", ...]`` as given on the command line."""
        values: dict[str, Any] = {}
        allowed = {f.name for f in fields(cls)} - {"seed"}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in allowed:
                raise ValueError(
                    f"bad fault {pair!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(allowed))}"
                )
            try:
                values[name] = float(value)
            except ValueError:
                raise ValueError(f"bad fault {pair!r}: {value!r} is not a number") from None
        return cls(**values, **kwargs)

    def to_pairs(self) -> list[str]:
        """The non-zero fault probabilities as ``["kind=probability", ...]`` (what :meth:`from_pairs` reads).

        Example:
            >>> FaultConfig(rate_limit=0.2, truncated=0.1).to_pairs()
            ['rate_limit=0.2', 'truncated=0.1']
        """
        return [f"{kind}={getattr(self, kind)!r}" for kind in FAULT_KINDS if getattr(self, kind)]

    def choose(self, key: str, attempt: int) -> str | None:
        """The fault for this attempt of this request body, or None."""
        u = unit_interval(self.seed, "fault", key, attempt)
        cumulative = 0.0
        for kind in FAULT_KINDS:
            cumulative += getattr(self, kind)
            if u < cumulative:
                return kind
        return None


class _RepeatableList(argparse.Action):
    """``--fault a --fault b`` and ``--fault a b`` both give ``[a, b]``; given at all, it replaces the default."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        current = getattr(namespace, self.dest, None)
        kept = [] if current is None or current is self.default else list(current)
        setattr(namespace, self.dest, [*kept, *values])


@dataclass
class StandInConfig:
    """How the stand-in server answers: rate limits, latency, faults, listed models and the seed.

    One seed governs everything that varies (faults, latencies, reply wording); the latency and
    fault seeds are offsets from it. :meth:`latency_model` and :meth:`fault_config` build the
    objects the server uses; :meth:`from_parts` goes the other way.

    Example:
        >>> config = StandInConfig.from_parts(faults=FaultConfig(truncated=0.5), seed=3)
        >>> config.fault, config.fault_config().seed
        (['truncated=0.5'], 3)
    """

    rpm: int | None = field(
        default=None,
        metadata={
            "help": "Requests per minute, over a sliding window (see --window-seconds); None: unlimited."
        },
    )
    tpm: int | None = field(
        default=None,
        metadata={
            "help": "Tokens per minute (the prompt estimate plus max_tokens), over a sliding window; "
            "None: unlimited."
        },
    )
    window_seconds: float = field(
        default=WINDOW_SECONDS,
        metadata={
            "help": "Length of the sliding window over which rpm and tpm are enforced, in seconds. A shorter "
            "window keeps the per-minute rate (rpm 1200 over 2 s admits 40 requests in any 2 s), so a limit "
            "binds within seconds; the x-ratelimit-* headers still speak per minute."
        },
    )
    rate_limit_headers: bool = field(
        default=True,
        metadata={
            "help": "Send x-ratelimit-* headers. False: enforce rpm/tpm with a bare 429 and Retry-After only, as "
            "a proxy in front of a model server may, so a client must find the limit from the 429s."
        },
    )
    seed: int = field(
        default=0,
        metadata={
            "help": "Varies faults, latencies and reply wording; the same seed gives the same results."
        },
    )
    latency_median: float = field(
        default=LatencyModel.median, metadata={"help": "Median latency in seconds."}
    )
    latency_p99: float | None = field(
        default=LatencyModel.p99,
        metadata={
            "help": "99th percentile latency in seconds, for a log-normal latency; None: fixed latency."
        },
    )
    latency_per_token: float = field(
        default=LatencyModel.per_completion_token,
        metadata={"help": "Extra seconds per completion token."},
    )
    latency_seed_offset: int = field(
        default=LatencyModel.seed, metadata={"help": "Added to --seed for the latency samples."}
    )
    fault: list[str] = field(
        default_factory=list,
        metadata={
            "help": f"Inject a fault with probability P; KIND is one of {', '.join(FAULT_KINDS)} "
            "(repeatable: --fault rate_limit=0.2 --fault server_error=0.05).",
            "metavar": "KIND=P",
            "action": _RepeatableList,
        },
    )
    hang_seconds: float = field(
        default=FaultConfig.hang_seconds, metadata={"help": "How long a 'timeout' fault hangs, in seconds."}
    )
    retry_after: float = field(
        default=FaultConfig.retry_after,
        metadata={"help": "Retry-After of an injected 429 ('rate_limit' fault), in seconds."},
    )
    fault_seed_offset: int = field(
        default=FaultConfig.seed, metadata={"help": "Added to --seed for choosing faults."}
    )
    models: list[str] = field(
        default_factory=lambda: list(DEFAULT_MODELS),
        metadata={
            "help": "Model ids listed by GET /v1/models (repeatable; any model id is accepted in requests).",
            "aliases": ["--model"],
            "metavar": "MODEL",
            "action": _RepeatableList,
        },
    )

    # ------------------------------------------------------------------ capacity and the Batch API
    max_in_flight: int | None = field(
        default=None,
        metadata={
            "help": "Chat completions answered at once; more wait in a queue, as at a model server with a fixed "
            "number of batch slots (None: no cap)."
        },
    )
    batch_validating_seconds: float = field(
        default=0.05, metadata={"help": "How long a new batch stays 'validating', in seconds."}
    )
    batch_seconds: float = field(
        default=0.5,
        metadata={
            "help": "How long a batch stays 'in_progress' while its requests are answered, in seconds."
        },
    )
    batch_expire_seconds: float | None = field(
        default=None,
        metadata={
            "help": "A batch still in progress after this many seconds expires: the answered requests go to its "
            "output file, the others to its error file (None: never)."
        },
    )

    def __post_init__(self) -> None:
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ValueError(f"StandInConfig.max_in_flight must be >= 1 or None, got {self.max_in_flight}")
        for name in ("batch_validating_seconds", "batch_seconds", "batch_expire_seconds"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"StandInConfig.{name} must be >= 0 seconds, got {value}")
        # a YAML file may give a single fault or model as a string
        self.fault = [self.fault] if isinstance(self.fault, str) else list(self.fault)
        self.models = [self.models] if isinstance(self.models, str) else list(self.models)
        if not self.models:
            raise ValueError("StandInConfig.models is empty; list at least one model id")
        # fail on a bad value now, with a message that names it, rather than when the server starts
        self.limiter()
        self.latency_model()
        self.fault_config()

    def limiter(self) -> SlidingWindowLimiter:
        """A fresh :class:`~biomed_vital.testing.standin.limiter.SlidingWindowLimiter` for ``rpm``, ``tpm`` and
        ``window_seconds``."""
        return SlidingWindowLimiter(self.rpm, self.tpm, self.window_seconds)

    def latency_model(self) -> LatencyModel:
        """The :class:`LatencyModel` of this config (its seed is ``seed + latency_seed_offset``)."""
        return LatencyModel(
            self.latency_median,
            self.latency_p99,
            self.latency_per_token,
            self.seed + self.latency_seed_offset,
        )

    def fault_config(self) -> FaultConfig:
        """The :class:`FaultConfig` of this config (its seed is ``seed + fault_seed_offset``)."""
        return FaultConfig.from_pairs(
            self.fault,
            hang_seconds=self.hang_seconds,
            retry_after=self.retry_after,
            seed=self.seed + self.fault_seed_offset,
        )

    @classmethod
    def from_parts(
        cls, *, latency: LatencyModel | None = None, faults: FaultConfig | None = None, **settings: Any
    ) -> StandInConfig:
        """A config from a :class:`LatencyModel` and a :class:`FaultConfig` (their seeds become offsets of
        ``seed``); ``settings`` are the other fields (``rpm``, ``tpm``, ``seed``, ``models``).

        Example:
            >>> config = StandInConfig.from_parts(latency=LatencyModel.fixed(0.05), seed=2)
            >>> config.latency_model()
            LatencyModel(median=0.05, p99=None, per_completion_token=0.0, seed=2)
        """
        latency = latency or LatencyModel()
        faults = faults or FaultConfig()
        return cls(
            latency_median=latency.median,
            latency_p99=latency.p99,
            latency_per_token=latency.per_completion_token,
            latency_seed_offset=latency.seed,
            fault=faults.to_pairs(),
            hang_seconds=faults.hang_seconds,
            retry_after=faults.retry_after,
            fault_seed_offset=faults.seed,
            **settings,
        )

    def to_flags(self) -> list[str]:
        """This config as command-line flags (what ``python -m biomed_vital.testing.standin`` reads back).

        Example:
            >>> StandInConfig(rpm=60, fault=["timeout=0.5"], rate_limit_headers=False).to_flags()[:6]
            ['--rpm', '60', '--window_seconds', '60.0', '--rate_limit_headers', 'False']
        """
        flags: list[str] = []
        for name, value in asdict(self).items():
            if value is None or value == []:
                continue
            values = [str(item) for item in value] if isinstance(value, list) else [str(value)]
            flags += [f"--{name}", *values]
        return flags
