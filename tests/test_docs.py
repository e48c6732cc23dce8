"""Every code block in the README and the docs is checked, so a wrong example fails CI.

* ``python`` blocks run, in order, in one namespace per page (like a notebook), in a fresh process with a
  temporary working folder, offline. A block that cannot run here (it needs an API key, a GPU, the Hub or
  the user's own files) is marked on the line before its fence with
  ``<!-- docs-test: compile-only (the reason) -->``: it is then compiled, and every ``biomed_vital`` module
  and name it imports or uses as ``bv.<name>`` must exist.
* ``bash`` blocks: every ``biomed-vital COMMAND ...`` line must name a real command, and every ``--flag`` of
  it must be one of that command's options (``-`` and ``_`` spellings alike).
* ``<!-- docs-test: skip (the reason) -->`` leaves a block out (shell scripts for other machines).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(\w*)\s*$")
_MARK = re.compile(r"^<!--\s*docs-test:\s*(compile-only|skip)\b(.*?)-->\s*$")


@dataclass
class Block:
    page: Path
    line: int
    language: str
    code: str
    mode: str  # "run", "compile-only" or "skip"

    @property
    def label(self) -> str:
        return f"{self.page.relative_to(REPO_ROOT)}:{self.line}"


def code_blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with the docs-test mark of the line before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None or not match.group(1):
            index += 1
            continue
        previous = lines[index - 1].strip() if index else ""
        mark = _MARK.match(previous)
        start = index + 1
        end = start
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        blocks.append(
            Block(
                page,
                start,
                match.group(1),
                "\n".join(lines[start:end]) + "\n",
                mark.group(1) if mark else "run",
            )
        )
        index = end + 1
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in code_blocks(page)]
PYTHON_PAGES = sorted({b.page for b in ALL_BLOCKS if b.language == "python" and b.mode == "run"})


def _check_names(block: Block) -> None:
    """Every biomed_vital module and name the block imports, or uses as an attribute of one, exists."""
    tree = ast.parse(block.code, filename=block.label)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                if name.name.split(".")[0] == "biomed_vital":
                    importlib.import_module(name.name)
                    aliases[name.asname or name.name.split(".")[0]] = (
                        name.name if name.asname else "biomed_vital"
                    )
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "biomed_vital":
            module = importlib.import_module(node.module)
            for name in node.names:
                assert hasattr(module, name.name), f"{block.label}: {node.module} has no {name.name!r}"
                value = getattr(module, name.name)
                if isinstance(value, type(sys)):
                    aliases[name.asname or name.name] = value.__name__
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            module = importlib.import_module(aliases[node.value.id])
            assert hasattr(module, node.attr), f"{block.label}: {aliases[node.value.id]} has no {node.attr!r}"


@pytest.mark.parametrize(
    "block",
    [b for b in ALL_BLOCKS if b.language == "python" and b.mode == "compile-only"],
    ids=lambda b: b.label,
)
def test_compile_only_python_blocks_use_names_that_exist(block: Block) -> None:
    compile(block.code, block.label, "exec")
    _check_names(block)


_DRIVER = """
import json, sys, traceback
namespace = {"__name__": "__main__"}
for label, code in json.loads(sys.stdin.read()):
    try:
        exec(compile(code, label, "exec"), namespace)
    except BaseException:
        print(f"BLOCK FAILED: {label}", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
"""


@pytest.mark.slow
@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    blocks = [b for b in ALL_BLOCKS if b.page == page and b.language == "python" and b.mode == "run"]
    for block in blocks:
        _check_names(block)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "BIOMED_VITAL_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "MPLBACKEND": "Agg",
    }
    result = subprocess.run(
        [sys.executable, "-c", _DRIVER],
        input=json.dumps([[b.label, b.code] for b in blocks]),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]


def _command_options() -> dict[str, set[str]]:
    from biomed_vital.cli.main import COMMANDS

    options: dict[str, set[str]] = {}
    for name, (module_name, _) in COMMANDS.items():
        module = importlib.import_module(f"biomed_vital.cli.commands.{module_name}")
        parsers = getattr(module, "build_parsers", None)
        built = parsers() if parsers else [module.build_parser()] if hasattr(module, "build_parser") else []
        names: set[str] = set()
        stack = list(built)
        while stack:  # subcommands (``preferences build``) count with their parent
            parser = stack.pop()
            for action in parser._actions:
                names.update(option.replace("_", "-") for option in action.option_strings)
                if isinstance(action, argparse._SubParsersAction):
                    stack.extend(action.choices.values())
        options[name] = names
    return options


@pytest.mark.parametrize(
    "block", [b for b in ALL_BLOCKS if b.language == "bash" and b.mode != "skip"], ids=lambda b: b.label
)
def test_command_lines_use_real_commands_and_flags(block: Block) -> None:
    options = _command_options()
    text = block.code.replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "biomed-vital" not in line:
            continue
        words = shlex.split(line[line.index("biomed-vital") :])
        if len(words) < 2 or words[1].startswith("-"):
            continue
        command = words[1]
        assert command in options, f"{block.label}: unknown command {command!r}"
        if not options[command]:  # a command whose options are not built from dataclasses
            continue
        for word in words[2:]:
            if word.startswith("--"):
                flag = word.split("=", 1)[0].replace("_", "-")
                assert flag in options[command], f"{block.label}: biomed-vital {command} has no option {flag}"


def test_every_page_has_been_read() -> None:
    assert len(PAGES) >= 2 and any(b.language == "python" for b in ALL_BLOCKS)
