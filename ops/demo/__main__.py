"""`python -m deploy.demo`: the demo year through the running services."""

import sys

from deploy.demo import main

sys.exit(main())
