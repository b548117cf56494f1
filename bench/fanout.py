"""Figure 6a alone, at the full run's crowd: one update to one session, N subscribers.

    .venv/bin/python -m bench.fanout [--subscribers 1000] [--rounds 10] [--profile]
                                     [--subscription toolMessageUpdated|sessionEvents]

For measuring one fan-out lever at a time without the whole suite. Starts its own
throwaway database and `python -m uvicorn app:app` from this checkout; prints the
delivery latency (p50, p99, max) and the server's CPU per delivery. With --profile,
py-spy samples the server meanwhile (summary as in bench.profile; stacks in
bench/results/profile-fanout.txt).
"""

import argparse
import asyncio
import secrets
import sys

from bench import figures
from bench.figures import Config
from bench.procs import (
    RESULTS,
    raise_fd_limit,
    uvicorn_server,
)
from bench.profile import PY_SPY, finish, record
from bench.subscribers import SUBSCRIPTIONS, Subscribers, Subscription


async def run(subscribers: int, rounds: int, profile: bool, subscription: Subscription) -> None:
    raise_fd_limit()
    secret = secrets.token_urlsafe(48)
    config = Config.make(quick=False)
    config.fanout = subscribers
    config.fanout_rounds = rounds
    clients = [Subscribers() for _ in range(config.client_processes)]
    try:
        async with figures.seeded(
            config,
            clients,
            secret,
        ) as ctx:
            async with uvicorn_server(
                database_dsn=ctx.dsn, jwt_secret=secret, label="fanout"
            ) as server:
                trigger = figures.Trigger(server, ctx.token)
                out = RESULTS / "profile-fanout.txt"
                spy = record(server.pid, out) if profile else None
                try:
                    result = await figures.fanout_one_session(
                        ctx,
                        server.ws_url,
                        trigger,
                        "fanout",
                        server.pids(),
                        subscription=subscription,
                    )
                finally:
                    await trigger.close()
                    if spy is not None:
                        finish(spy, out, "6a fan-out (with subscribing and closing)")
    finally:
        for client in clients:
            client.stop()
    print(
        f"6a, {subscribers} {subscription.field} subscribers on 1 session, {rounds} rounds: "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"max {result['max_ms']:.1f} ms, delivered {result['delivered']}/{result['expected']}, "
        f"server CPU {result['server_cpu_ms_per_delivery']:.3f} ms per delivery"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy")
    parser.add_argument("--subscription", choices=list(SUBSCRIPTIONS), default="toolMessageUpdated")
    arguments = parser.parse_args()
    if arguments.profile and PY_SPY is None:
        sys.exit('--profile needs py-spy (pip install -e ".[bench]")')
    subscription = SUBSCRIPTIONS[arguments.subscription]
    asyncio.run(run(arguments.subscribers, arguments.rounds, arguments.profile, subscription))


if __name__ == "__main__":
    main()
