"""``python -m occbench ...`` works like the ``occbench`` console script."""

import sys

from occbench.cli import main

sys.exit(main())
