#!/usr/bin/env python3
"""The gateway emulator moved to the package ``tools/emulator`` (``python -m tools.emulator``); this
name still works for old imports (``from gateway_emulator import Emulator``) and commands
(``python tools/gateway_emulator.py --port 8070``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator import FAULTS, PROVIDERS, Emulator, Message, sign_gatewayapi, sign_twilio
from emulator.cli import main

__all__ = ["FAULTS", "PROVIDERS", "Emulator", "Message", "main", "sign_gatewayapi", "sign_twilio"]

if __name__ == "__main__":
    main()
