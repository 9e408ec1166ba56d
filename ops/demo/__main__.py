"""`python -m ops.demo`: the demo year through the running services."""

import sys

from ops.demo import main

sys.exit(main())
