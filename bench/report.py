"""One table from a run's figures, each against its floor and its target (issue 4; 9: streamed
replies; 10: against PostGraphile, the peer of issue 15, in the floor column)."""

from typing import Any

from bench.peer_table import peer_notes
from bench.peer_table import table_rows as peer_rows
from bench.wrk import SATURATED

Row = tuple[str, str, str, str, str, str]

HEADER: Row = ("fig", "what", "server", "floor or peer", "ratio", "target")


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def _rate(value: float) -> str:
    return f"{value:,.0f}/s"


def _x(value: float) -> str:
    return f"{value:.1f}x"


def _pair(first: float, second: float) -> str:
    return f"{_ms(first)} / {_ms(second)}"


def _ratios(ours: dict[str, Any], floor: dict[str, Any]) -> str:
    return f"{_x(ours['p50_ms'] / floor['p50_ms'])} / {_x(ours['p99_ms'] / floor['p99_ms'])}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _bytes(value: float) -> str:
    return f"{value:,.0f} B"


def render(report: dict[str, Any]) -> tuple[str, list[str]]:
    """The table (plain text, Markdown-compatible) and notes on saturated clients."""
    rows, notes = table_rows(report)
    return format_table([HEADER, *rows]), notes


def format_table(rows: list[tuple[str, ...]]) -> str:
    """Markdown-compatible rows, padded; the first is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: tuple[str, ...]) -> str:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        return "| " + " | ".join(cells) + " |"

    separator = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(rows[0]), separator, *(line(row) for row in rows[1:])])


def table_rows(report: dict[str, Any]) -> tuple[list[Row], list[str]]:
    """One row per figure line, and notes on saturated clients and server logs."""
    figs = report["figures"]
    rows: list[Row] = []
    notes: list[str] = []

    def measured(key: str) -> dict[str, Any] | None:
        """A figure's result; None when the run has none (older runs) or it failed (the
        failure is noted with its figure)."""
        result = figs.get(key)
        return result if isinstance(result, dict) and "error" not in result else None

    def watch(label: str, result: dict[str, Any]) -> None:
        if result.get("client_saturated"):
            cores = result.get("client_cores")
            notes.append(f"{label}: the load client saturated ({cores}): the figure is a floor")
        if result.get("errors"):
            notes.append(f"{label}: {result['errors']} failed requests")

    def figure_1() -> None:
        f1 = figs["1_history"]
        watch("1", f1["server"])
        hit, miss = f1["server"], f1["after_write"]
        floor1 = f1["floor"]
        rows.append(
            (
                "1",
                f"history of {f1['messages']:,}: repeat read, p50 / p99",
                _pair(hit["p50_ms"], hit["p99_ms"]),
                _pair(floor1["p50_ms"], floor1["p99_ms"]),
                _x(f1["ratio_p50"]),
                f"p50 <= 5x (aim 3x): {_verdict(f1['ratio_p50'] <= 5)}",
            )
        )
        rows.append(
            (
                "1",
                "  … first read after a write, p50 / p99 (paired floor)",
                _pair(miss["p50_ms"], miss["p99_ms"]),
                _pair(miss["floor_p50_ms"], miss["floor_p99_ms"]),
                _x(miss["ratio_p50"]),
                f"p50 <= 5x: {_verdict(miss['ratio_p50'] <= 5)}",
            )
        )
        fetch = floor1.get("fetch_only_p50_ms")
        if fetch:
            rows.append(
                (
                    "1",
                    "  … against the floor's fetch alone (no JSON), p50",
                    "",
                    _ms(fetch),
                    _x(miss["p50_ms"] / fetch),
                    "",
                )
            )
        if floor1["serializer"] != "orjson":
            notes.append(
                f"floors serialize with {floor1['serializer']} (orjson is not installed): "
                "read floors are higher, and read ratios lower, than with orjson"
            )
        if not f1["floor_json_identical"]:
            notes.append("1: the floor's JSON differs from the server's response")

    def figure_2() -> None:
        f2 = figs["2_latest_page"]
        for key in ("big", "small"):
            watch("2", f2[key]["server"])
            # Runs before the floor wrote ChatPage's whole response did not compare them
            # (bench.compare renders older runs too).
            if f2[key].get("floor_json_identical") is False:
                notes.append(f"2 ({key}): the floor's JSON differs from the server's response")
            hit, miss = f2[key]["server"], f2[key]["after_write"]
            rows.append(
                (
                    "2",
                    f"messages(last: 50) of {f2[key]['messages']:,}: repeat, p50",
                    _ms(hit["p50_ms"]),
                    _ms(f2[key]["floor"]["p50_ms"]),
                    _x(f2[key]["ratio_p50"]),
                    "",
                )
            )
            rows.append(
                (
                    "2",
                    f"  … {f2[key]['messages']:,}, first read after a write, p50 (paired floor)",
                    _ms(miss["p50_ms"]),
                    _ms(miss["floor_p50_ms"]),
                    _x(miss["ratio_p50"]),
                    "",
                )
            )
        for label, growth in (
            ("repeat", f2["growth_p50"]),
            ("after a write", f2["growth_p50_after_write"]),
        ):
            rows.append(
                (
                    "2",
                    f"latest page {label}: big / small session",
                    _x(growth),
                    "",
                    "",
                    f"flat (<= 1.5x): {_verdict(growth <= 1.5)}",
                )
            )

    def figure_3() -> None:
        _append_rows(rows, watch, notes, figs["3_append"], "3", figs["3_append"])

    def figure_4() -> None:
        f4 = figs["4_batch"]
        rows.append(
            (
                "4",
                "appendMessages of 1,000, p50",
                _ms(f4["server"]["p50_ms"]),
                _ms(f4["floor_best_p50_ms"]),
                _x(f4["ratio_p50"]),
                "",
            )
        )

    def figure_5() -> None:
        f5 = figs["5_session_list"]
        keys = [key for key in f5 if key.startswith("sessions_")]
        for key in keys:
            watch("5", f5[key]["server"])
            count = key.split("_")[1]
            rows.append(
                (
                    "5",
                    f"{count} sessions x last 20 messages, p50",
                    _ms(f5[key]["server"]["p50_ms"]),
                    _ms(f5[key]["floor"]["p50_ms"]),
                    _x(f5[key]["ratio_p50"]),
                    "",
                )
            )
        counts = f5.get("statements", {})
        if counts:
            same = len(set(counts.values())) == 1
            shown = " / ".join(f"{counts[key]}" for key in keys)
            rows.append(
                (
                    "5",
                    f"SQL statements ({' / '.join(k.split('_')[1] for k in keys)} sessions)",
                    shown,
                    "3",
                    "",
                    f"independent of count: {_verdict(same)}",
                )
            )

    def figure_6() -> None:
        floor6 = figs["6_fanout_floor"]
        events = measured("6_fanout_session_events"), measured("6_fanout_session_events_floor")
        beside = (events[0], events[1]) if events[0] and events[1] else None
        _fanout_rows(rows, watch, "6", figs["6_fanout"], floor6, beside)

    def idle_row(subscription: str | None, result: dict[str, Any]) -> None:
        """RSS per idle subscription against the floor's per socket; issue 4's target on
        toolMessageUpdated's line (`subscription` None), a sub-line for another."""
        named = "" if subscription is None else f" {subscription}"
        per, mb = result["kib_per_subscription"], result["extrapolated_mb_per_10000"]
        opened = f"{result['idle']['opened']:,} open"
        # The floor keeps only the socket: what any server pays for an idle subscriber.
        floor_kib = figs.get("7_capacity_floor", {}).get("kib_per_socket")
        rows.append(
            (
                "7",
                f"RSS per idle subscription ({opened})"
                if subscription is None
                else f"  …{named} ({opened})",
                f"{per:.1f} KiB",
                "" if floor_kib is None else f"{floor_kib:.1f} KiB",
                "" if floor_kib is None else f"{per / floor_kib:.1f}x",
                f"< 200 MB per 10,000 ({mb:.0f} MB): {_verdict(mb < 200)}"
                if subscription is None
                else f"({mb:.0f} MB per 10,000)",
            )
        )
        failed = result["idle"]["failed"]
        if failed:
            notes.append(
                f"7{named}: {failed} idle subscriptions failed: {result['idle']['errors']}"
            )

    def figure_7() -> None:
        floor6 = figs["6_fanout_floor"]
        f7 = figs["7_capacity"]
        idle_row(None, f7)
        events = measured("7_capacity_session_events")
        if events is not None:
            idle_row("sessionEvents", events)
        one = f7["fanout_one_session"]
        watch("7", one)
        floor_one = floor6["one_session"]
        rows.append(
            (
                "7",
                "6a beside the idle ones, p50 / p99",
                f"{_ms(one['p50_ms'])} / {_ms(one['p99_ms'])}",
                f"{_ms(floor_one['p50_ms'])} / {_ms(floor_one['p99_ms'])}",
                _ratios(one, floor_one),
                f"p99 < 50 ms: {_verdict(one['p99_ms'] < 50)}",
            )
        )

    def figure_8() -> None:
        floor6 = figs["6_fanout_floor"]
        f8 = figs["8_two_workers"]
        _append_rows(rows, watch, notes, f8["append"], "8", figs["3_append"], machine=True)
        _fanout_rows(rows, watch, "8", f8["fanout"], floor6)

    def figure_9() -> None:
        result = measured("9_streams")
        if result is not None:  # older runs have none; a failure is noted with its figure
            _stream_rows(rows, watch, notes, result, measured("9_streams_floor"))

    def figure_10() -> None:
        result = measured("10_peer")
        if result is not None:  # older runs have none; a failure is noted with its figure
            rows.extend(peer_rows(result))
            notes.extend(peer_notes(result))

    sections = [
        figure_1,
        figure_2,
        figure_3,
        figure_4,
        figure_5,
        figure_6,
        figure_7,
        figure_8,
        figure_9,
        figure_10,
    ]
    for number, section in enumerate(sections, 1):
        failed = [
            f"{key}: {value['error']}"
            for key, value in figs.items()
            if key.split("_")[0] == str(number) and isinstance(value, dict) and "error" in value
        ]
        try:
            section()
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            failed.append(f"not shown ({type(exc).__name__}: {exc})")
        notes += [f"figure {number}: {problem}" for problem in failed]

    load = report.get("environment", {}).get("loadavg_at_start", [0])[0]
    if load > 1.0:
        notes.append(f"the machine was busy when the run started (load average {load:.1f})")
    for name, counts in report.get("server_logs", {}).items():
        if counts:
            said = ", ".join(f"{count}x {what}" for what, count in counts.items())
            notes.append(f"server log {name}: {said}")

    return rows, notes


def _append_rows(
    rows: list[Row],
    watch: Any,
    notes: list[str],
    result: dict[str, Any],
    fig: str,
    floors: dict[str, Any],
    *,
    machine: bool = False,
) -> None:
    for key in ("c1", "c16"):
        server = result[key]["server"]
        floor = floors[key]["floor"]
        watch(fig, server)
        if floor["client_saturated"]:
            notes.append(
                f"{fig}: the raw floor's client (this process) saturated at {key}: "
                "the floor rate is understated"
            )
        concurrency = key[1:]
        target = ""
        if key == "c16":
            ok = server["rate"] >= 1000 and (machine or server["p99_ms"] < 50)
            target = "≥ 1,000/s" + ("" if machine else ", p99 < 50 ms") + f": {_verdict(ok)}"
        rows.append(
            (
                fig,
                f"appendMessage at concurrency {concurrency}: rate",
                _rate(server["rate"]),
                _rate(floor["rate"]),
                _x(floor["rate"] / server["rate"]),
                target,
            )
        )
        rows.append(
            (
                fig,
                f"  … p50 / p99 at concurrency {concurrency}",
                f"{_ms(server['p50_ms'])} / {_ms(server['p99_ms'])}",
                f"{_ms(floor['p50_ms'])} / {_ms(floor['p99_ms'])}",
                "",
                "",
            )
        )


def _fanout_rows(
    rows: list[Row],
    watch: Any,
    fig: str,
    result: dict[str, Any],
    floor: dict[str, Any],
    session_events: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> None:
    """6a and 6b (toolMessageUpdated), each followed by its sessionEvents line when given:
    (the server's result, its floor's)."""
    for key, label in (
        ("one_session", "subscribers on 1 session"),
        ("many_sessions", "subscribers on as many sessions"),
    ):
        _fanout_row(rows, watch, fig, None, label, result[key], floor[key])
        if session_events is not None:
            ours, base = session_events[0][key], session_events[1][key]
            _fanout_row(rows, watch, fig, "sessionEvents", label, ours, base)


def _fanout_row(
    rows: list[Row],
    watch: Any,
    fig: str,
    subscription: str | None,
    label: str,
    ours: dict[str, Any],
    base: dict[str, Any],
) -> None:
    """One fan-out line against its floor, after a line for missing deliveries if any.
    `subscription` None is toolMessageUpdated, whose lines carry issue 4's target; another
    is a sub-line under it, with no target of its own."""
    named = "" if subscription is None else f" {subscription}"
    watch(f"{fig}{named}", ours)
    watch(f"{fig}{named} floor", base)
    if ours["delivered"] < ours["expected"]:
        missing = ours["expected"] - ours["delivered"]
        rows.append((fig, f"  {missing}{named} deliveries missing", "", "", "", ""))
    what = f"{ours['open']['opened']:,} {label}, p50 / p99"
    rows.append(
        (
            fig,
            f"fan-out, {what}" if subscription is None else f"  …{named}, {what}",
            f"{_ms(ours['p50_ms'])} / {_ms(ours['p99_ms'])}",
            f"{_ms(base['p50_ms'])} / {_ms(base['p99_ms'])}",
            _ratios(ours, base),
            f"p99 < 50 ms: {_verdict(ours['p99_ms'] < 50)}" if subscription is None else "",
        )
    )


def _stream_rows(
    rows: list[Row],
    watch: Any,
    notes: list[str],
    result: dict[str, Any],
    floor: dict[str, Any] | None,
) -> None:
    """Figure 9: (a) chunks a second, (b) chunk to subscriber, (c) bytes per chunk event."""
    alone, watched = result["alone"], result["watched"]
    raw = floor["rate"] if floor else None
    watch("9", alone)
    if raw and raw["client_saturated"]:
        notes.append("9: the raw floor's client (this process) saturated: its rate is understated")
    floor_cores = floor["paced"]["load"].get("server_cores", 0) if floor else 0
    if floor_cores > SATURATED:
        notes.append(
            f"9: the floor server (bench.floor_ws, one process) was busy {floor_cores:.2f} cores "
            "at the offered pace: its latency is that of a saturated floor"
        )

    def rate_target(rate: float) -> str:
        return f"≥ 2,000/s: {_verdict(rate >= 2000)}"

    rows.append(
        (
            "9",
            f"{result['streams']} streams, appendMessageContent as fast as answered: chunks/s",
            _rate(alone["rate"]),
            _rate(raw["rate"]) if raw else "",
            _x(raw["rate"] / alone["rate"]) if raw else "",
            rate_target(alone["rate"]),
        )
    )
    rows.append(
        (
            "9",
            "  … chunk answered, p50 / p99",
            _pair(alone["p50_ms"], alone["p99_ms"]),
            _pair(raw["p50_ms"], raw["p99_ms"]) if raw else "",
            "",
            "",
        )
    )
    rows.append(
        (
            "9",
            "  … with a sessionEvents subscriber per stream: chunks/s",
            _rate(watched["load"]["rate"]),
            "",
            "",
            rate_target(watched["load"]["rate"]),
        )
    )
    offered = f"{result['streams'] * result['pace_per_stream']:,.0f} chunks/s offered"
    phases = [
        ("as fast as answered", "  … chunk to subscriber at that rate", watched, None),
        (offered, f"chunk to subscriber at {offered}", result["paced"], floor),
    ]
    if "half" in result:
        half = "half the first line's rate"
        phases.append((half, f"  … at {half}", result["half"], None))
    for index, (name, what, measured, base) in enumerate(phases):
        paced = index > 0
        _delivery_rows(
            rows, watch, notes, name, what, measured, base and base["paced"], paced=paced
        )
    _frame_rows(rows, result["frames"], result["chunk_bytes"])


def _delivery_rows(
    rows: list[Row],
    watch: Any,
    notes: list[str],
    name: str,
    what: str,
    ours: dict[str, Any],
    base: dict[str, Any] | None,
    *,
    paced: bool,
) -> None:
    """Figure 9b, one load (`name`): chunk to subscriber (with the target when `base`, the
    floor, is given), what was sent when `paced`, and the bytes the subscribers received
    per chunk."""
    watch(f"9 {name}", ours)
    watch(f"9 {name}", ours["load"])
    missing = ours["expected"] - ours["delivered"]
    if missing:
        notes.append(f"9 {name}: {missing} of {ours['expected']} chunks not delivered")
    rows.append(
        (
            "9",
            f"{what}, p50 / p99",
            _pair(ours["p50_ms"], ours["p99_ms"]),
            _pair(base["p50_ms"], base["p99_ms"]) if base else "",
            _ratios(ours, base) if base else "",
            f"p99 < 50 ms: {_verdict(ours['p99_ms'] < 50)}" if base else "",
        )
    )
    if paced:
        rows.append(
            (
                "9",
                f"    … chunks/s sent ({name})",
                _rate(ours["load"]["rate"]),
                _rate(base["load"]["rate"]) if base else "",
                "",
                "",
            )
        )
    if "frame_bytes_per_chunk" in ours:
        behind = f"{ours['caught_up']:,} of {ours['delivered']:,} in a MESSAGE"
        rows.append(
            (
                "9",
                f"    … frame bytes received per chunk, chunks in a MESSAGE ({name})",
                f"{_bytes(ours['frame_bytes_per_chunk'])} ({behind})",
                _bytes(base["frame_bytes_per_chunk"]) if base else "",
                "",
                "",
            )
        )


def _frame_rows(rows: list[Row], frames: dict[str, Any], chunk_bytes: int) -> None:
    """Figure 9c: a chunk's frames at the smallest and the largest content measured."""
    sizes = sorted((key for key in frames if key.startswith("kib_")), key=lambda k: int(k[4:]))
    small, large = frames[sizes[0]], frames[sizes[-1]]
    at = f"content {sizes[0][4:]} / {sizes[-1][4:]} KiB"
    growth = large["appended_bytes"] / small["appended_bytes"]
    deflate = "deflate" if frames["deflate"] else "no deflate"
    for what, key, target in (
        (f"APPENDED frame of a {chunk_bytes}-byte chunk, {at}", "appended_bytes", True),
        (f"  … the SESSION frame each chunk also sends, {at}", "session_bytes", False),
        (
            f"  … on the wire per chunk (both frames, {deflate}), {at}",
            "wire_bytes_per_chunk",
            False,
        ),
    ):
        rows.append(
            (
                "9",
                what,
                f"{_bytes(small[key])} / {_bytes(large[key])}",
                "",
                _x(large[key] / small[key]),
                f"flat (<= 1.1x): {_verdict(growth <= 1.1)}" if target else "",
            )
        )
    rows.append(
        (
            "9",
            f"  … one chunk, send to APPENDED frame (no other load), {at}, p50",
            f"{_ms(small['p50_ms'])} / {_ms(large['p50_ms'])}",
            "",
            _x(large["p50_ms"] / small["p50_ms"]),
            "",
        )
    )
