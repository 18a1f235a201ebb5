"""The README's service section runs as pasted: a real ``flexcoord serve`` on SQLite, curl,
the worker clearing on 1-HVMV-mixed, and the FSP's award printed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "examples" / "service" / "quickstart.sh"

pytestmark = pytest.mark.slow


def test_the_readme_block_is_the_script() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The live service in one paste", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    assert block.group(1) == SCRIPT.read_text(encoding="utf-8")


@pytest.mark.skipif(
    shutil.which("curl") is None and not os.environ.get("CI"), reason="curl is not installed"
)
def test_the_quickstart_clears_and_prints_the_award(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("FLEXCOORD_DATABASE_URL", None)
    run = subprocess.run(
        ["bash", str(SCRIPT)],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    awards = json.loads(run.stdout.strip().splitlines()[-1])
    assert [(a["bid_id"], a["quantity_mw"], a["payment_eur"]) for a in awards] == [("b1", 0.3, 6.0)]
