"""Two runs side by side: each figure's server value and ratio to its floor, and how they moved.

    .venv/bin/python -m bench.compare bench/results/A.json bench/results/B.json

For the spread between two runs of the same code, or before/after a change (`--tree`).
"""

import argparse
import json
import re
from pathlib import Path
from typing import Any

from bench.report import format_table, table_rows

NUMBER = re.compile(r"[\d,]+(?:\.\d+)?")


def first_number(cell: str) -> float | None:
    found = NUMBER.search(cell)
    return float(found.group().replace(",", "")) if found else None


def moved(before: str, after: str) -> str:
    """after ÷ before of the first number in two cells ("" when either has none)."""
    a, b = first_number(before), first_number(after)
    if not a or b is None:
        return ""
    return f"{b / a:.2f}"


def compare(first: dict[str, Any], second: dict[str, Any]) -> str:
    rows_a, _ = table_rows(first)
    rows_b, _ = table_rows(second)
    by_key = {(row[0], row[1]): row for row in rows_b}
    header = ("fig", "what", "server A", "server B", "B/A", "ratio A", "ratio B", "B/A")
    out: list[tuple[str, ...]] = [header]
    for row in rows_a:
        other = by_key.get((row[0], row[1]))
        if other is None:
            continue
        out.append(
            (
                row[0],
                row[1],
                row[2],
                other[2],
                moved(row[2], other[2]),
                row[4],
                other[4],
                moved(row[4], other[4]),
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
