"""``python -m listener.sandbox``: run the sandbox on the real clock until SIGINT/SIGTERM.

Prints one JSON line (base URLs, feed URLs, credentials, brand accounts) so a parent process can read
where to point its clients; the world ticks once a second on a background thread.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import timedelta
from types import FrameType

from listener.sandbox.app import Sandbox
from listener.sandbox.world import World, utc_now


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m listener.sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="only 127.0.0.1 is accepted")
    parser.add_argument("--port", type=int, default=0, help="port of the sandbox (0: a free port)")
    parser.add_argument("--layout", choices=("paths", "ports"), default="paths",
                        help="paths: one port, /<platform> prefixes; ports: PORT..PORT+7, one per platform")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=4.0, help="new posts per minute, all platforms together")
    parser.add_argument("--backlog-min", type=float, default=60.0, help="minutes of history at start")
    parser.add_argument("--spike-after-min", type=float, default=None,
                        help="start a burst of angry posts about a booking-app outage after M minutes")
    parser.add_argument("--spike-duration-min", type=float, default=15.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        world = World(seed=args.seed, clock=utc_now, rate_per_min=args.rate,
                      backlog=timedelta(minutes=args.backlog_min))
        sandbox = Sandbox(world, host=args.host, port=args.port, layout=args.layout, tick_interval_s=1.0)
    except ValueError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 2
    if args.spike_after_min is not None:
        world.schedule_spike(utc_now() + timedelta(minutes=args.spike_after_min),
                             duration=timedelta(minutes=args.spike_duration_min))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        sandbox.start()
    except OSError as error:
        print(f"sandbox: cannot listen on port {args.port}: {error}; pick another --port or use --port 0",
              file=sys.stderr)
        return 1
    print(json.dumps(sandbox.describe()), flush=True)
    try:
        stop.wait()
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
