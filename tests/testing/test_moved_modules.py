"""The test kit's old module paths keep working for one release, with a deprecation warning."""

from __future__ import annotations

import subprocess
import sys

import pytest

from biomed_vital.cli.commands import serve_standin
from biomed_vital.testing.standin import StandInServer, reply_seed_key, server, vocabulary


def test_old_server_and_replies_paths_import_the_new_objects():
    with pytest.warns(DeprecationWarning, match="biomed_vital.testing.standin"):
        from biomed_vital.testing.server import FaultConfig
        from biomed_vital.testing.server import StandInServer as OldStandInServer
    assert OldStandInServer is StandInServer and OldStandInServer is server.StandInServer
    assert FaultConfig.__module__ == "biomed_vital.testing.standin.config"
    with pytest.warns(DeprecationWarning, match="reply_seed_key"):
        from biomed_vital.testing.server import request_key
    assert request_key is reply_seed_key
    with pytest.warns(DeprecationWarning, match="serve_standin"):
        from biomed_vital.testing.server import main
    assert main is serve_standin.main
    with pytest.warns(DeprecationWarning, match="biomed_vital.testing.standin.replies"):
        from biomed_vital.testing.replies import STANDIN_MARKER, generation_reply
    assert STANDIN_MARKER == vocabulary.STANDIN_MARKER
    assert generation_reply.__module__ == "biomed_vital.testing.standin.replies"


def test_the_old_command_line_path_still_runs_and_says_where_it_moved():
    run = subprocess.run(
        [sys.executable, "-m", "biomed_vital.testing.server", "--fault", "explode=0.5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "use biomed_vital.testing.standin" in run.stderr
    assert "explode" in run.stderr.splitlines()[-1]
