"""Where a run ran: the code served, the Python, the machine and how busy it was at the start."""

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench import floors


def environment(tree: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=tree, capture_output=True, text=True)
        return result.stdout.strip()

    return {
        "tree": str(tree),
        "commit": git("rev-parse", "--short", "HEAD"),
        # Others' uncommitted edits are served too: name them.
        "uncommitted": git("status", "--porcelain", "--untracked-files=no").splitlines(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "serializer_for_floors": floors.SERIALIZER,
    }
