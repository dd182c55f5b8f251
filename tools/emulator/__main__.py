"""``python -m tools.emulator --port 8070 [--auto-report delivered]``: see ``--help``."""

from .cli import main

main()
