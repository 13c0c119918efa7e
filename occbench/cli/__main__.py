"""``python -m occbench.cli`` (used by ``torchrun ... -m occbench.cli train``)."""

import sys

from occbench.cli import main

sys.exit(main())
