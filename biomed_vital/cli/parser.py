"""``CommandParser``: every command's flags come from config dataclasses, with ``--config file.yaml``.

Built on ``transformers.HfArgumentParser``, as trl's commands are: each field of each dataclass becomes
a flag (``--max_tokens`` / ``--max-tokens``) whose help text is the field's ``metadata["help"]`` and
whose default is the field's default, so a default is written once, in its dataclass. On top of that:

* ``--config file.yaml`` reads options from a YAML file (keys are field names); flags given on the
  command line override it. Unknown keys are an error that names them.
* ``--preset NAME`` starts every dataclass the preset covers from its values (:mod:`biomed_vital.presets`;
  ``biomed-vital`` is the paper's method); ``--config`` and flags override it.
* field metadata ``{"positional": True}`` makes a field a positional argument (input paths);
  ``{"cli": False}`` keeps a field out of the flags (dicts, objects: settable from the YAML file);
  ``{"secret": True}`` keeps it out of both (API keys come from the environment only).
* a ``ValueError`` / ``TypeError`` raised while building the dataclasses (a bad option value) is a
  one-line usage error with exit status 2, not a traceback.

Example:
    >>> from dataclasses import dataclass, field
    >>> @dataclass
    ... class Args:
    ...     source: str = field(metadata={"positional": True, "help": "input file"})
    ...     top_fraction: float = field(default=0.5, metadata={"help": "fraction to keep"})
    >>> (args,) = CommandParser([Args], prog="demo").parse(["in.json", "--top-fraction", "0.2"])
    >>> args.source, args.top_fraction
    ('in.json', 0.2)
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from transformers import HfArgumentParser

__all__ = ["CommandParser", "exit_status_of_task"]

# metadata keys that are ours, not argparse's
_OWN_KEYS = ("positional", "cli", "secret")
# a Sphinx cross-reference in a docstring, e.g. :class:`~biomed_vital.generation.GPT4VGenerator`
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


class CommandParser(HfArgumentParser):
    """An ``HfArgumentParser`` over ``dataclass_types`` with ``--config``, positionals and one-line errors.

    Args:
        dataclass_types: the dataclasses whose fields become the command's options, in help order.
        prog, description, epilog: as for ``argparse.ArgumentParser``.
    """

    def __init__(self, dataclass_types: Iterable[type | tuple[type, str]], **kwargs: Any) -> None:
        self._positional_fields: list[dataclasses.Field[Any]] = []
        # (dataclass, section): HfArgumentParser types its dataclasses loosely, so they are Any here
        self._sections: list[tuple[Any, str]] = [
            (item, "") if isinstance(item, type) else (item[0], item[1]) for item in dataclass_types
        ]
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        if "usage" not in kwargs and "prog" in kwargs:
            positionals = [
                f.name.upper()
                for dtype, section in self._sections
                for f in dataclasses.fields(dtype)
                if f.metadata.get("positional") and not section
            ]
            kwargs["usage"] = " ".join([kwargs["prog"], *positionals, "[options]"])
        # HfArgumentParser.__init__ only adds each dataclass's fields; ours also knows sections
        argparse.ArgumentParser.__init__(self, **kwargs)
        self.dataclass_types = [dtype for dtype, _ in self._sections]
        for dtype, section in self._sections:
            self._add_dataclass_arguments(dtype, section)
        self.add_argument(
            "--config",
            default=None,
            metavar="FILE.yaml",
            help="read options from a YAML file (keys are option names, or sections of them); flags on the "
            "command line override it",
        )
        #: the preset the last parse started from (None without --preset)
        self.preset: str | None = None
        # a command with a `preset` field of its own handles the name itself
        self._takes_preset = not any(
            f.name == "preset" and not section
            for dtype, section in self._sections
            for f in dataclasses.fields(dtype)
        )
        if self._takes_preset:
            self.add_argument(
                "--preset",
                default=None,
                metavar="NAME",
                help="start from a named preset's settings (biomed-vital: the paper's method); --config and "
                "flags override it",
            )

    # ------------------------------------------------------------------ building the flags
    def _add_dataclass_arguments(self, dtype: Any, section: str = "") -> None:
        # one argument group per dataclass, titled by its name and the first line of its docstring; the
        # fields of a dataclass given with a section become ``--section.field`` (``section: {field: ...}``
        # in the YAML file), so two stages can each have their own ``seed`` or ``model``
        doc = (dtype.__doc__ or "").strip()
        summary = doc.splitlines()[0] if doc and not doc.startswith(dtype.__name__ + "(") else ""
        summary = _ROLE.sub(lambda match: match.group(1).rsplit(".", 1)[-1], summary).rstrip(".")
        title = f"{dtype.__name__} ({summary})" if summary else dtype.__name__
        group = self.add_argument_group(f"{section}: {title}" if section else title)
        type_hints = typing.get_type_hints(dtype)
        for field in dataclasses.fields(dtype):
            if not field.init:
                continue
            field = copy.copy(field)  # the parser resolves types on its own copy, not on the dataclass
            field.type = type_hints[field.name]
            if section:
                if field.metadata.get("positional"):
                    raise TypeError(
                        f"{dtype.__name__}.{field.name}: a positional field cannot be in a section"
                    )
                field.name = f"{section}.{field.name}"
            self._parse_dataclass_field(group, field)

    def _parse_dataclass_field(self, parser: Any, field: dataclasses.Field[Any]) -> None:  # type: ignore[override]
        metadata = dict(field.metadata)
        if metadata.get("secret") or metadata.get("cli") is False:
            return
        if metadata.get("positional"):
            self._positional_fields.append(field)
            has_default = field.default is not dataclasses.MISSING
            parser.add_argument(
                field.name,
                nargs="?",
                default=field.default if has_default else None,
                metavar=field.name.upper(),
                help=metadata.get("help", ""),
            )
            return
        if any(key in metadata for key in _OWN_KEYS):
            field = copy.copy(field)
            field.metadata = types.MappingProxyType({k: v for k, v in metadata.items() if k not in _OWN_KEYS})
        HfArgumentParser._parse_dataclass_field(parser, field)

    # ------------------------------------------------------------------ parsing
    def known_fields(self) -> dict[str, dataclasses.Field[Any]]:
        """Every field of the command's dataclasses, by option name (``section.field`` in a section)."""
        return {
            (f"{section}.{f.name}" if section else f.name): f
            for dtype, section in self._sections
            for f in dataclasses.fields(dtype)
            if f.init
        }

    def parse(self, argv: Sequence[str] | None = None) -> tuple[Any, ...]:
        """Parse ``argv`` (with an optional ``--config`` file) into one instance per dataclass.

        A mistake (an unknown flag, a bad value, a missing input, an unknown key in the file) prints
        one usage line and exits with status 2.
        """
        args = list(argv) if argv is not None else None
        self.preset = _option_value(args, "--preset") if self._takes_preset else None
        if self.preset:
            self.set_defaults(**self._preset_values(self.preset))
        config_path = _option_value(args, "--config")
        if config_path:
            self.set_defaults(**self._read_config(config_path))
        namespace = self.parse_args(args)
        for field in self._positional_fields:
            if getattr(namespace, field.name, None) is None and field.default is dataclasses.MISSING:
                self.error(f"the following arguments are required: {field.name.upper()}")
        values = vars(namespace)
        instances = []
        for dtype, section in self._sections:
            prefix = f"{section}." if section else ""
            options = {
                f.name: values[prefix + f.name]
                for f in dataclasses.fields(dtype)
                if f.init and prefix + f.name in values
            }
            try:
                instances.append(dtype(**options))
            except (ValueError, TypeError) as error:
                self.error(f"{section}: {error}" if section else str(error))
        return tuple(instances)

    def _preset_values(self, name: str) -> dict[str, Any]:
        """The values preset ``name`` sets on this command's dataclasses (an error when it sets none)."""
        from biomed_vital.presets import get_preset

        try:
            preset = get_preset(name)
        except ValueError as error:
            self.error(f"--preset: {error}")
        values: dict[str, Any] = {}
        for dtype, section in self._sections:
            try:
                found = preset.values_for(dtype)
            except ValueError:
                continue  # the preset leaves this part of the command at its defaults
            prefix = f"{section}." if section else ""
            values.update({prefix + name: value for name, value in found.items()})
        if not values:
            names = ", ".join(dtype.__name__ for dtype in self.dataclass_types)
            self.error(f"--preset {name}: the preset sets nothing this command takes ({names})")
        return values

    def _read_config(self, path: str) -> dict[str, Any]:
        import yaml

        if not os.path.isfile(path):
            self.error(f"--config {path}: no such file")
        try:
            with open(path, encoding="utf-8") as handle:
                values = yaml.safe_load(handle) or {}
        except yaml.YAMLError as error:
            self.error(f"--config {path}: not valid YAML ({error})")
        if not isinstance(values, dict):
            self.error(f"--config {path}: expected a mapping of option names to values")
        fields = self.known_fields()
        sections = {section for _, section in self._sections if section}
        normalised: dict[str, Any] = {}
        for key, value in values.items():
            key = str(key).replace("-", "_")
            if key in sections and isinstance(value, dict):  # a section: {generate: {n_candidates: 2}}
                normalised.update({f"{key}.{str(k).replace('-', '_')}": v for k, v in value.items()})
            else:
                normalised[key] = value
        unknown = sorted(set(normalised) - set(fields))
        if unknown:
            self.error(f"--config {path}: unknown option(s) {', '.join(unknown)}")
        secrets = sorted(name for name in normalised if fields[name].metadata.get("secret"))
        if secrets:
            self.error(
                f"--config {path}: {', '.join(secrets)} does not belong in a file; set it in the environment "
                "(OPENAI_API_KEY / AZURE_OPENAI_API_KEY)"
            )
        return normalised

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` (one line) and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def _option_value(argv: list[str] | None, option: str) -> str | None:
    """The value of ``option`` (``--config``, ``--preset``) in ``argv``, read first so that flags override it."""
    import sys

    tokens = argv if argv is not None else sys.argv[1:]
    for index, token in enumerate(tokens):
        if token == option and index + 1 < len(tokens):
            return tokens[index + 1]
        if token.startswith(option + "="):
            return token.split("=", 1)[1]
    return None


def exit_status_of_task(task: Any, command: str) -> int:
    """0 when a model-called task produced at least one usable row, else 1 with a one-line reason.

    Every row is saved either way (errors are rows); the status tells scripts that nothing worked.

    Example:
        >>> exit_status_of_task(generator, "generate")   # doctest: +SKIP
        0
    """
    import sys

    summary = task.last_summary or {}
    by_status = summary.get("by_status", {})
    if by_status.get("ok", 0) or not by_status:
        return 0
    waiting = (summary.get("engine") or {}).get("errors") or {}
    if waiting and set(waiting) <= {"exported", "batch_pending"}:  # nothing failed: the answers come later
        print(
            f"biomed-vital {command}: no answers yet ({', '.join(f'{k}: {v}' for k, v in waiting.items())}); "
            "run the same command again once they are ready",
            file=sys.stderr,
        )
        return 0
    causes = summary.get("errors_by_cause") or {}
    reason = ", ".join(f"{cause}: {count}" for cause, count in causes.items()) or "see the error column"
    print(f"biomed-vital {command}: error: no row succeeded ({reason})", file=sys.stderr)
    return 1
