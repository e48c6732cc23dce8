"""PreferenceDataset: its two constructors, and the names it keeps for one release."""

from __future__ import annotations

import subprocess
import sys


def test_building_pairs_does_not_import_torch():
    code = (
        "import sys, biomed_vital.preferences as p; p.PreferenceDataset; p.summarize_preferences; "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
