"""``AnnotationAppConfig``: the options of the clinician annotation app (``biomed-vital annotate``).

The app listens on 127.0.0.1 only, unless ``host`` says otherwise; listening beyond this machine
needs a password (from the environment variable ``BIOMED_VITAL_ANNOTATION_PASSWORD``, never a flag
or a file), because the images may be patient data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

__all__ = ["PASSWORD_ENV", "AnnotationAppConfig", "is_loopback"]

PASSWORD_ENV = "BIOMED_VITAL_ANNOTATION_PASSWORD"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only.

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0")
        (True, False)
    """
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass
class AnnotationAppConfig:
    """Which candidates, where the judgements go, who annotates, and where the app listens.

    Example:
        >>> AnnotationAppConfig("candidates/", "annotations.jsonl", "rad-1").host
        '127.0.0.1'
    """

    candidates: str = field(
        metadata={
            "help": "Two-answer candidates: a save_to_disk folder, a JSON/JSONL/Parquet file or a Hub id."
        }
    )
    out: str = field(metadata={"help": "The annotation log (JSONL), appended to judgement by judgement."})
    annotator: str = field(
        metadata={
            "help": "A stable, non-identifying label of the clinician (e.g. rad-1); every record carries it."
        }
    )
    host: str = field(
        default="127.0.0.1",
        metadata={
            "help": f"Address to listen on; anything but 127.0.0.1/localhost needs the {PASSWORD_ENV} "
            "environment variable (the images may be patient data)."
        },
    )
    port: int = field(default=7860, metadata={"help": "Port to listen on (0: any free port)."})
    seed: int = field(default=0, metadata={"help": "Seed of the per-item order of the two answers."})
    password: str | None = field(
        default=None, metadata={"secret": True, "help": f"Password (from {PASSWORD_ENV})."}
    )

    def __post_init__(self) -> None:
        self.annotator = str(self.annotator or "").strip()
        if not self.annotator:
            raise ValueError("--annotator is empty; give a label such as rad-1")
        if not 0 <= int(self.port) <= 65535:
            raise ValueError(f"--port must be between 0 and 65535, got {self.port}")
        if self.password is None:
            self.password = os.environ.get(PASSWORD_ENV) or None
        if not is_loopback(self.host) and not self.password:
            raise ValueError(
                f"--host {self.host} makes the app reachable from other machines; set the {PASSWORD_ENV} "
                "environment variable to require a password (the images may be patient data)"
            )
