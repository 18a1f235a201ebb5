"""flexcoord: an open platform for TSO–DSO coordination through grid-aware flexibility markets."""

from __future__ import annotations

__version__ = "0.1.0"
