"""Figure 9 alone: streamed replies, chunks to a subscriber per stream.

    .venv/bin/python -m bench.streams [--floor] [--quick] [--tree DIR] [--set NAME=VALUE ...]

For measuring a lever of the streamed chunks without the whole suite: the same throwaway
database, streams, server and loads as `python -m bench`'s figure 9 (bench/figures.py's
`streams`), on `--tree`'s checkout, with `--set`'s settings added to the server's
environment (`--set EVENTS_FROM_WRITES=false`: a layer off). Prints each load's chunks/s,
the server's CPU per chunk, and the chunk-to-subscriber p50 and p99; with `--floor`, the
floors of `streams_floor` too. Everything goes to bench/results/streams-<UTC time>.json.
"""

import argparse
import asyncio
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import figures
from bench.figures import Config
from bench.procs import RESULTS, ROOT, raise_fd_limit, uvicorn_server
from bench.subscribers import Subscribers


async def run(config: Config, tree: Path, settings: dict[str, str], floor: bool) -> dict[str, Any]:
    raise_fd_limit()
    secret = secrets.token_urlsafe(48)
    clients = [Subscribers() for _ in range(config.client_processes)]
    report: dict[str, Any] = {"tree": str(tree), "settings": settings}
    try:
        async with figures.seeded(
            config,
            clients,
            secret,
            tree=tree,
            streams=config.streams,
        ) as ctx:
            async with uvicorn_server(
                database_dsn=ctx.dsn,
                jwt_secret=secret,
                tree=tree,
                settings=settings,
                label="streams",
            ) as server:
                report["9_streams"] = await figures.streams(ctx, server)
            if floor:
                report["9_streams_floor"] = await figures.streams_floor(ctx)
    finally:
        for client in clients:
            client.stop()
    return report


def _load_line(name: str, load: dict[str, Any]) -> str:
    cpu = load["server_cores"] / load["rate"] * 1000 if load.get("rate") else float("nan")
    return f"{name}: {load['rate']:,.0f} chunks/s, server CPU {cpu:.3f} ms per chunk"


def _delivery_line(name: str, deliveries: dict[str, Any]) -> str:
    return (
        f"{_load_line(name, deliveries['load'])}; chunk to subscriber p50 "
        f"{deliveries['p50_ms']:.1f} ms, p99 {deliveries['p99_ms']:.1f} ms, delivered "
        f"{deliveries['delivered']}/{deliveries['expected']} "
        f"({deliveries['caught_up']} caught up in a MESSAGE)"
    )


def summary(report: dict[str, Any]) -> list[str]:
    ours = report["9_streams"]
    lines = [
        _load_line("alone, as fast as answered", ours["alone"]),
        _delivery_line("watched, as fast as answered", ours["watched"]),
        _delivery_line(
            f"paced, {ours['streams'] * ours['pace_per_stream']:,.0f}/s offered", ours["paced"]
        ),
        _delivery_line("paced, half the first rate", ours["half"]),
    ]
    floor = report.get("9_streams_floor")
    if floor is not None:
        lines.append(f"floor: {floor['rate']['rate']:,.0f} chunks/s as fast as answered")
        lines.append(_delivery_line("floor, paced", floor["paced"]))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smoke run's shorter loads")
    parser.add_argument("--floor", action="store_true", help="measure the floors too")
    parser.add_argument("--tree", type=Path, default=ROOT, help="serve this checkout instead")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting added to the server's environment (repeatable)",
    )
    arguments = parser.parse_args()
    settings = dict(item.split("=", 1) for item in arguments.set)
    config = Config.make(arguments.quick)
    report = asyncio.run(run(config, arguments.tree.resolve(), settings, arguments.floor))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"streams-{stamp}.json"
    figures.write_json(path, report)
    for line in summary(report):
        print(line)
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
