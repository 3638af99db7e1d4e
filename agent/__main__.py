"""``python -m agent``: run the agent (see :mod:`agent.cli`)."""

import sys

from agent.cli import main

sys.exit(main())
