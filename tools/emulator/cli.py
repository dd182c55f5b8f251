"""The emulator's command line: the emulator on a local port until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import argparse
import signal
import threading

from .server import Emulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Emulate GatewayAPI, SMSAPI and Twilio on one local port.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8070)
    parser.add_argument("--auto-report", metavar="STATE", help="report every message, e.g. 'delivered'")
    parser.add_argument(
        "--report-delay", type=float, default=1.0, help="seconds before each automatic report"
    )
    parser.add_argument("--gatewayapi-secret", default="", help="signs GatewayAPI webhooks (JWT)")
    parser.add_argument("--twilio-token", default="", help="signs Twilio webhooks (default: the token used)")
    parser.add_argument(
        "--temporary-rate", type=float, default=0.0, help="share of requests answered 429/500"
    )
    parser.add_argument("--drop-rate", type=float, default=0.0, help="share of requests dropped unanswered")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--verbose", action="store_true", help="log each request's method and path")
    args = parser.parse_args(argv)
    secrets = {"gatewayapi": args.gatewayapi_secret, "twilio": args.twilio_token}
    emulator = Emulator(
        args.host,
        args.port,
        auto_report=args.auto_report,
        secrets={k: v for k, v in secrets.items() if v},
        report_delay=args.report_delay,
        verbose=args.verbose,
    ).start()
    if args.temporary_rate or args.drop_rate:
        emulator.faults(args.temporary_rate, args.drop_rate, args.seed)
    print(
        f"Gateway emulator on {emulator.url}: use it as the gateway's API URL (GatewayAPI, SMSAPI, Twilio)."
    )
    print("Numbers ending in 0000 are refused as invalid, 1111 as refused recipients. Ctrl-C stops.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
