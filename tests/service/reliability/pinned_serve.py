"""Test-only server: the flexcoord app under uvicorn with a pinned, running clock.

    python pinned_serve.py DATABASE_URL PORT AT_ISO ORIGIN_FILE

Until the file ``ORIGIN_FILE`` exists the server clock stands still 1 s before ``AT_ISO``;
once it holds a wall-clock time (seconds since the epoch), the clock reads ``AT_ISO`` at that
time and advances with the wall clock. Used by the gate-closure rush: the test sets the market
up, then starts the clock, so gate closure falls a known number of seconds after the rush
starts however long start-up and set-up took. The service itself has no such switch.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import uvicorn

from flexcoord.service import ServiceSettings, create_app


def main() -> None:
    url, port, at_iso, origin_file = sys.argv[1:5]
    at, origin = datetime.fromisoformat(at_iso), Path(origin_file)
    started: list[float] = []

    def clock() -> datetime:
        if not started:
            if not origin.exists():
                return at - timedelta(seconds=1)
            started.append(float(origin.read_text()))
        return at + timedelta(seconds=time.time() - started[0])

    app = create_app(ServiceSettings(database_url=url, clock=clock))
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
