"""``python -m biomed_vital.cli``: the same as the ``biomed-vital`` command."""

import sys

from biomed_vital.cli.main import main

sys.exit(main())
