"""Importing any of our modules that import trl (or peft) prints none of the notices about bitsandbytes' optional kernel.

Each module is imported first in a fresh process (import-time notices show once per process), offline, as a
user's shell runs it. The notices only appear on CPUs with AVX-512 bfloat16, where bitsandbytes looks for the
kernel.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

NOTICES = ("kernels-community", "gemm_4bit_forward", "publisher trust check")


@pytest.mark.parametrize(
    "code",
    [
        "import biomed_vital.selection.training_config",
        "import biomed_vital.selection.trainer",
        "import biomed_vital.tuning.config",
        "import biomed_vital.tuning.trainer",
        # merge_adapter imports peft when it is called; a missing adapter stops it just after
        "from biomed_vital.tuning import merge_adapter\n"
        "try:\n    merge_adapter('no-such-adapter', 'merged')\nexcept ValueError:\n    pass",
    ],
    ids=[
        "selection.training_config",
        "selection.trainer",
        "tuning.config",
        "tuning.trainer",
        "merge_adapter",
    ],
)
def test_importing_a_module_that_imports_trl_prints_no_kernel_notice(code):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    heard = [notice for notice in NOTICES if notice in result.stdout + result.stderr]
    assert not heard, result.stderr[-2000:]
