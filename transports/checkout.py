"""Files the service reads at run time next to its source: it runs from its checkout.

A built wheel holds the Python packages alone, not graphql/ or web/dist, so the app refuses to
start without them rather than fail on the first request that needs them.
"""

from pathlib import Path


def from_checkout(path: Path) -> Path:
    """`path`, which must exist: start-up stops with a message naming it otherwise."""
    if not path.exists():
        raise RuntimeError(
            f"{path} is missing: chatstore reads it at run time from its source checkout, so "
            "run it from a checkout (pip install -e .), not from a built wheel"
        )
    return path
