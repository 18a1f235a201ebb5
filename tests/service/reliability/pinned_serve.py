"""Test-only server: the flexcoord app under uvicorn with a pinned, running clock.

    python pinned_serve.py DATABASE_URL PORT AT_ISO ORIGIN_EPOCH_S

The server clock reads ``AT_ISO`` at wall-clock time ``ORIGIN_EPOCH_S`` (seconds since the
epoch) and advances with the wall clock. Used by the gate-closure rush so gate closure falls a
known number of seconds after the rush starts; the service itself has no such switch.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

import uvicorn

from flexcoord.service import ServiceSettings, create_app


def main() -> None:
    url, port, at_iso, origin = sys.argv[1:5]
    at, origin_s = datetime.fromisoformat(at_iso), float(origin)

    def clock() -> datetime:
        return at + timedelta(seconds=time.time() - origin_s)

    app = create_app(ServiceSettings(database_url=url, clock=clock))
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
