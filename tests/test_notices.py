"""Importing any of our modules that import trl prints none of the notices about bitsandbytes' optional kernel.

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
    "module",
    [
        "biomed_vital.selection.training_config",
        "biomed_vital.selection.trainer",
        "biomed_vital.tuning.config",
        "biomed_vital.tuning.trainer",
    ],
)
def test_importing_a_module_that_imports_trl_prints_no_kernel_notice(module):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    heard = [notice for notice in NOTICES if notice in result.stdout + result.stderr]
    assert not heard, result.stderr[-2000:]
