"""Parser throughput: the reference client's WHATWG parser against httpx-sse, on the same bytes.

Builds about 50 MB of snapshot-stream events (billing progress payloads, heartbeats, comments, LF
line ends as the reference server writes them; --crlf for CRLF) and parses them, side by side in
one run, two ways:

- parser only: bytes in 64 KiB chunks fed straight to the parser (httpx-sse: its incremental
  UTF-8 decoding, SSELineDecoder and SSEDecoder, exactly what `iter_sse` does per chunk);
- through httpx: an in-memory `httpx.Response` streamed with `iter_bytes` into our parser, and
  with httpx-sse's `EventSource.iter_sse`.

Prints MB/s (best of --repeat runs) and events/s for each. Both must find the same events, or the
comparison would be meaningless; the program checks that first.

    .venv/bin/python benchmarks/bench_parser.py [--mb 50] [--repeat 3] [--chunk 65536] [--crlf]
"""

from __future__ import annotations

import argparse
import codecs
import json
import time
from collections.abc import Callable, Iterator

import httpx
from httpx_sse import EventSource
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from reference.client import SseParser


def build_body(megabytes: float, line_end: str) -> tuple[bytes, int]:
    """The stream body and the number of events with data in it."""
    parts: list[str] = []
    size = 0
    events = 0
    target = int(megabytes * 1_000_000)
    n = 0
    while size < target:
        n += 1
        if n % 10 == 0:
            block = (
                f'event: heartbeat\ndata: {{"timestamp":"2026-11-03T10:{n % 60:02d}:00.000Z"}}\n\n'
            )
        elif n % 25 == 0:
            block = ": keep-alive comment\n\n"
            events -= 1
        else:
            expected = 1000
            processed = n % expected
            payload = {
                "billingRunId": "run_VlQDO_BckJtYAM_MMOjkSg",
                "month": "2026-11",
                "progress": {
                    "expectedInvoiceCount": expected,
                    "processedInvoiceCount": processed,
                    "pendingCount": expected - processed,
                    "queuedCount": n % 7,
                    "sentCount": n % 11,
                    "deliveredCount": processed - n % 7 - n % 11 if processed > 20 else 0,
                    "delayedCount": 0,
                    "failedCount": 0,
                    "bouncedCount": 0,
                    "isComplete": False,
                    "hasFailures": False,
                },
                "isComplete": False,
                "generatedAt": "2026-11-03T10:00:00.000Z",
            }
            block = (
                f"event: billing.invoice-send-progress\nid: {n}\n"
                f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"
            )
        events += 1
        if line_end != "\n":
            block = block.replace("\n", line_end)
        parts.append(block)
        size += len(block)
    return "".join(parts).encode(), events


def chunks(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def ours_direct(body: bytes, chunk: int) -> int:
    parser = SseParser()
    count = 0
    for piece in chunks(body, chunk):
        count += len(parser.feed(piece))
    return count + len(parser.close())


def httpx_sse_direct(body: bytes, chunk: int) -> int:
    # httpx-sse also yields an event for a block without data once an id was seen (here: each
    # comment block), which WHATWG does not dispatch (P15); those are not counted.
    text_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = SSELineDecoder()
    decoder = SSEDecoder()
    count = 0
    for piece in chunks(body, chunk):
        for line in lines.decode(text_decoder.decode(piece)):
            sse = decoder.decode(line.rstrip("\n"))
            if sse is not None and sse.data:
                count += 1
    for line in lines.flush():
        sse = decoder.decode(line.rstrip("\n"))
        if sse is not None and sse.data:
            count += 1
    return count


def _response(body: bytes, chunk: int) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream; charset=utf-8"},
        content=chunks(body, chunk),
    )


def ours_httpx(body: bytes, chunk: int) -> int:
    parser = SseParser()
    count = 0
    for piece in _response(body, chunk).iter_bytes():
        count += len(parser.feed(piece))
    return count + len(parser.close())


def httpx_sse_httpx(body: bytes, chunk: int) -> int:
    return sum(1 for sse in EventSource(_response(body, chunk)).iter_sse() if sse.data)


def best_seconds(run: Callable[[bytes, int], int], body: bytes, chunk: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run(body, chunk)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=50.0, help="body size in MB (50)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per parser, best kept (3)")
    parser.add_argument("--chunk", type=int, default=65536, help="chunk size in bytes (65536)")
    parser.add_argument("--crlf", action="store_true", help="CRLF line ends instead of LF")
    args = parser.parse_args()

    body, expected = build_body(args.mb, "\r\n" if args.crlf else "\n")
    megabytes = len(body) / 1_000_000
    print(
        f"body: {megabytes:.1f} MB, {expected} events, {'CRLF' if args.crlf else 'LF'} line ends, "
        f"{args.chunk}-byte chunks, best of {args.repeat}"
    )
    pairs = [
        ("parser only", ours_direct, httpx_sse_direct),
        ("through httpx.Response", ours_httpx, httpx_sse_httpx),
    ]
    for label, ours, theirs in pairs:
        counts = (ours(body, args.chunk), theirs(body, args.chunk))
        if counts != (expected, expected):
            raise SystemExit(f"{label}: event counts differ: ours, httpx-sse = {counts}")
    print(f"{'':24} {'reference client':>18} {'httpx-sse 0.4.3':>18} {'ratio':>7}")
    for label, ours, theirs in pairs:
        # Interleaved, so a burst of load on the machine hits both alike.
        ours_s = theirs_s = float("inf")
        for _ in range(args.repeat):
            ours_s = min(ours_s, best_seconds(ours, body, args.chunk, 1))
            theirs_s = min(theirs_s, best_seconds(theirs, body, args.chunk, 1))
        print(
            f"{label:24} {megabytes / ours_s:12.1f} MB/s {megabytes / theirs_s:12.1f} MB/s "
            f"{theirs_s / ours_s:6.2f}x"
        )
        ours_rate, theirs_rate = expected / ours_s / 1000, expected / theirs_s / 1000
        print(f"{'':24} {ours_rate:9.0f} kev/s {theirs_rate:12.0f} kev/s")


if __name__ == "__main__":
    main()
