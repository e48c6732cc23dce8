"""CommandParser: flags from dataclasses, --config files with sections, and one-line usage errors."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import yaml

from biomed_vital.cli.parser import CommandParser
from biomed_vital.engine import BackendConfig
from biomed_vital.generation import GeneratorConfig, JudgeConfig


@dataclass
class Paths:
    """Synthetic command inputs."""

    source: str = field(metadata={"positional": True, "help": "input"})
    out: str = field(default="runs/out", metadata={"help": "where results go"})


def _parser() -> CommandParser:
    return CommandParser(
        [Paths, (GeneratorConfig, "generate"), (BackendConfig, "generate_backend"), (JudgeConfig, "judge")],
        prog="biomed-vital test",
    )


def _yaml(tmp_path, values) -> str:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


def test_sections_give_each_stage_its_own_options_from_flags_and_nested_yaml(tmp_path):
    config = _yaml(
        tmp_path, {"out": "runs/y", "generate": {"n-candidates": 3, "seed": 4}, "judge": {"seed": 9}}
    )
    paths, generate, backend, judge = _parser().parse(
        ["figures/", "--config", config, "--generate.seed", "5", "--judge.granularity", "conversation"]
    )
    assert (paths.source, paths.out) == ("figures/", "runs/y")
    assert (generate.n_candidates, generate.seed) == (3, 5)  # the flag overrides the file
    assert (judge.seed, judge.granularity) == (9, "conversation")
    assert backend.model == BackendConfig().model  # the dataclass default, defined once
    assert generate.temperature == GeneratorConfig().temperature


@pytest.mark.parametrize(
    ("argv", "values", "message"),
    [
        (["figures/", "--generate.n-candidates", "0"], None, "generate: n_candidates must be >= 1"),
        ([], None, "the following arguments are required: SOURCE"),
        (["figures/"], {"generate": {"no_such_option": 1}}, "unknown option(s) generate.no_such_option"),
        (["figures/"], {"generate_backend": {"api_key": "sk-synthetic"}}, "does not belong in a file"),
    ],
)
def test_mistakes_are_one_line_usage_errors_with_status_2(tmp_path, capsys, argv, values, message):
    if values is not None:
        argv = [*argv, "--config", _yaml(tmp_path, values)]
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "sk-synthetic" not in err


def test_a_preset_fills_every_section_it_covers_and_flags_override_it():
    paths, generate, backend, judge = _parser().parse(
        ["figures/", "--preset", "biomed-vital", "--generate.max-tokens", "100"]
    )
    assert (generate.prompt_style, generate.fig_label, generate.max_tokens) == ("biomed-vital", True, 100)
    assert (judge.granularity, judge.score_parsing, judge.temperature) == ("first_pair", "first_line", 0.0)
    assert backend.model == BackendConfig().model  # the preset leaves the backend at its defaults
    assert paths.out == "runs/out"
