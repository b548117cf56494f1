"""Figure 10's lines (bench/peer.py measures it): ours against PostGraphile's, with the
ratio ours ÷ peer and issue 15's targets."""

from typing import Any

CONCURRENCIES = (1, 10)


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def _verdict(ratio: float, target: float, bar: float, *, higher: bool) -> str:
    def meets(limit: float) -> bool:
        return ratio >= limit if higher else ratio <= limit

    return "met" if meets(target) else ("bar met" if meets(bar) else "MISSED")


def peer_rows(result: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(what, ours, peer, ours ÷ peer, target) per line; targets from issue 15."""
    history = result["history"]
    peer = history["peer"]
    rows = []
    for name, what, target in (
        ("ours", "repeat read, our response cache on", "< 1x"),
        ("ours_uncached", "repeat read, our response cache off", "<= 0.5x (bar 1x)"),
    ):
        ours = history[name]
        ratio = ours["p50_ms"] / peer["p50_ms"]
        if name == "ours":
            verdict = "met" if ratio < 1 else "MISSED"
        else:
            verdict = _verdict(ratio, 0.5, 1.0, higher=False)
        rows.append(
            (
                f"history of {result['messages']:,}, {what}: p50",
                _ms(ours["p50_ms"]),
                _ms(peer["p50_ms"]),
                f"{ratio:.2f}x",
                f"{target}: {verdict}",
            )
        )
        cpu = ours["cpu_ms_per_request"] / peer["cpu_ms_per_request"]
        rows.append(
            (
                f"  … CPU per request, {what}",
                _ms(ours["cpu_ms_per_request"]),
                _ms(peer["cpu_ms_per_request"]),
                f"{cpu:.2f}x",
                "",
            )
        )
    for concurrency in CONCURRENCIES:
        create = result[f"create_c{concurrency}"]
        ours, theirs = create["ours"], create["peer"]
        ratio = ours["rate"] / theirs["rate"]
        cpu = ours["cpu_ms_per_request"] / theirs["cpu_ms_per_request"]
        last = concurrency == max(CONCURRENCIES)
        rows.append(
            (
                f"one-message create at concurrency {concurrency}: rate",
                f"{ours['rate']:,.0f}/s",
                f"{theirs['rate']:,.0f}/s",
                f"{ratio:.2f}x",
                f">= 1.5x (bar 1x): {_verdict(ratio, 1.5, 1.0, higher=True)}" if last else "",
            )
        )
        rows.append(
            (
                f"  … CPU per request at concurrency {concurrency}",
                _ms(ours["cpu_ms_per_request"]),
                _ms(theirs["cpu_ms_per_request"]),
                f"{cpu:.2f}x",
                f"< 1x: {'met' if cpu < 1 else 'MISSED'}" if last else "",
            )
        )
    return rows


def peer_notes(result: dict[str, Any]) -> list[str]:
    if "unavailable" in result:
        return [f"10: the peer did not run: {result['unavailable']}"]
    notes = []
    if not result["same_history"]:
        notes.append("10: the servers' histories differ (messages, order or fields)")
    for key in ("history", *(f"create_c{c}" for c in CONCURRENCIES)):
        for name, measured in result[key].items():
            if measured["errors"]:
                notes.append(f"10 {key}, {name}: {measured['errors']} failed requests")
            if measured["client_saturated"]:
                notes.append(f"10 {key}, {name}: the load client saturated: the figure is a floor")
    notes.append(f"10: the peer is {result['peer']}, one Node process; ratios are ours ÷ peer")
    return notes


def table_rows(result: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """Figure 10's lines in bench.report's table, the peer's figures in the floor column."""
    if "unavailable" in result:
        return []
    return [
        (
            "10",
            what if what.startswith(" ") else f"{what} (vs peer)",
            ours,
            peer,
            ratio,
            target,
        )
        for what, ours, peer, ratio, target in peer_rows(result)
    ]
