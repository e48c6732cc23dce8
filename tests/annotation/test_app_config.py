"""Where the app listens: this machine by default, beyond it only with a password from the environment."""

from __future__ import annotations

import pytest

from biomed_vital.annotation import AnnotationAppConfig
from biomed_vital.annotation.app_config import PASSWORD_ENV


def test_the_app_binds_to_this_machine_by_default(monkeypatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    config = AnnotationAppConfig("candidates/", "annotations.jsonl", "rad-1")
    assert config.host == "127.0.0.1" and config.password is None


def test_listening_beyond_this_machine_needs_a_password(monkeypatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(ValueError, match=PASSWORD_ENV):
        AnnotationAppConfig("candidates/", "annotations.jsonl", "rad-1", host="0.0.0.0")
    monkeypatch.setenv(PASSWORD_ENV, "correct horse")
    config = AnnotationAppConfig("candidates/", "annotations.jsonl", "rad-1", host="0.0.0.0")
    assert config.password == "correct horse"


def test_the_password_is_neither_a_flag_nor_a_config_key(tmp_path, capsys) -> None:
    from biomed_vital.cli.commands.annotate import build_parser

    parser = build_parser()
    assert "--password" not in parser.format_help()
    config_file = tmp_path / "annotate.yaml"
    config_file.write_text("password: hunter2\n")
    with pytest.raises(SystemExit):
        parser.parse(["--config", str(config_file), "--candidates", "c", "--out", "o", "--annotator", "a"])
    assert "environment" in capsys.readouterr().err


def test_a_missing_annotator_is_a_usage_error(capsys) -> None:
    from biomed_vital.cli.commands.annotate import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--candidates", "c", "--out", "o"])
    assert exit_info.value.code == 2
    assert "--annotator" in capsys.readouterr().err
