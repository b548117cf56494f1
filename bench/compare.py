"""Two runs side by side: each figure's server value and ratio to its floor, and how they moved.

    .venv/bin/python -m bench.compare bench/results/A.json bench/results/B.json

For the spread between two runs of the same code, or before/after a change (`--tree`). A line
only one run has (a figure an older run did not measure) shows "absent" for the other.
"""

import argparse
import json
import re
from pathlib import Path
from typing import Any

from bench.report import format_table, table_rows

Key = tuple[str, str]  # a table row's figure and label
NUMBER = re.compile(r"[\d,]+(?:\.\d+)?")
ABSENT = "absent"


def first_number(cell: str) -> float | None:
    found = NUMBER.search(cell)
    return float(found.group().replace(",", "")) if found else None


def moved(before: str, after: str) -> str:
    """after ÷ before of the first number in two cells ("" when either has none)."""
    a, b = first_number(before), first_number(after)
    if not a or b is None:
        return ""
    return f"{b / a:.2f}"


def merged(first: list[Key], second: list[Key]) -> list[Key]:
    """The keys of both runs: the first's in order, the second's others each after the key
    it follows there (a figure one run does not have, as an older run, stays in place)."""
    out = list(first)
    previous: Key | None = None
    for key in second:
        if key not in out:
            out.insert(0 if previous is None else out.index(previous) + 1, key)
        previous = key
    return out


def compare(first: dict[str, Any], second: dict[str, Any]) -> str:
    rows_a, _ = table_rows(first)
    rows_b, _ = table_rows(second)
    by_key_a = {(row[0], row[1]): row for row in rows_a}
    by_key_b = {(row[0], row[1]): row for row in rows_b}
    header = ("fig", "what", "server A", "server B", "B/A", "ratio A", "ratio B", "B/A")
    out: list[tuple[str, ...]] = [header]
    for key in merged(list(by_key_a), list(by_key_b)):
        row, other = by_key_a.get(key), by_key_b.get(key)
        server_a, ratio_a = (row[2], row[4]) if row else (ABSENT, ABSENT)
        server_b, ratio_b = (other[2], other[4]) if other else (ABSENT, ABSENT)
        out.append(
            (
                *key,
                server_a,
                server_b,
                moved(server_a, server_b),
                ratio_a,
                ratio_b,
                moved(ratio_a, ratio_b),
            )
        )
    return format_table(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    arguments = parser.parse_args()
    first, second = (json.loads(path.read_text()) for path in (arguments.first, arguments.second))
    for name, report in (("A", first), ("B", second)):
        environment = report.get("environment", {})
        print(
            f"{name}: {report.get('started')}  commit {environment.get('commit')}  "
            f"tree {environment.get('tree')}  {report.get('seconds', 0):.0f} s"
        )
    print(compare(first, second))


if __name__ == "__main__":
    main()
