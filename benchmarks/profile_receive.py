"""Profile python-reverb's receive path: where the time of a flood of events goes.

The flood server (benchmarks/flood_server.py) runs in its own process; python-reverb runs here
under pyinstrument (a statistical profiler, so the profile barely slows the code it watches),
receiving ROUNDS floods of COUNT ~100-byte events with a counting handler bound. The profile
is printed as text (``--html FILE`` also writes pyinstrument's HTML page), followed by the
events/s without the profiler for the same setup.

    python benchmarks/profile_receive.py [--count 100000] [--rounds 3] [--transport auto]
        [--json auto|json|orjson] [--out FILE] [--html FILE]

docs/performance.md links the before/after profiles kept in docs/profiles/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from _bench import FloodServer

HOST = "127.0.0.1"


async def receive_floods(port: int, count: int, rounds: int, transport: str) -> list[float]:
    """Subscribe once, then time ROUNDS floods of COUNT events each; return their rates.

    One untimed flood goes first: the server builds and caches its frames then.
    """
    from reverb import Event, ReverbClient

    received = 0
    done: asyncio.Future[None] | None = None

    def tick(event: Event) -> None:
        nonlocal received
        received += 1
        if received == count and done is not None:
            done.set_result(None)

    rates = []
    async with ReverbClient(
        app_key="app-key", host=HOST, port=port, scheme="http", transport=transport
    ) as client:
        channel = await client.subscribe("flood")
        channel.bind("tick", tick)
        for _ in range(rounds + 1):
            received = 0
            done = asyncio.get_running_loop().create_future()
            start = time.perf_counter()
            await client.subscribe(f"flood-go-{count}")
            await asyncio.wait_for(done, 120)
            rates.append(count / (time.perf_counter() - start))
            await client.unsubscribe(f"flood-go-{count}")
    return rates[1:]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--transport", default="auto")
    parser.add_argument("--json", dest="codec", default="auto")
    parser.add_argument("--out", type=Path, help="also write the text profile here")
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML page here")
    args = parser.parse_args(argv)

    from pyinstrument import Profiler

    from reverb.messages import use_json

    codec = use_json(args.codec)
    server = FloodServer()
    try:
        plain = asyncio.run(receive_floods(server.port, args.count, args.rounds, args.transport))
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        asyncio.run(receive_floods(server.port, args.count, args.rounds, args.transport))
        profiler.stop()
    finally:
        server.close()
    text = profiler.output_text(unicode=True, color=False, show_all=False, short_mode=False)
    header = (
        f"python-reverb at {_commit()} receive profile: "
        f"{args.rounds} floods of {args.count:,} events, "
        f"transport={args.transport} ({os.environ.get('REVERB_TRANSPORT', 'setting')}), "
        f"json={codec}, Python {sys.version.split()[0]}\n"
        f"without the profiler: {', '.join(f'{rate:,.0f}' for rate in plain)} events/s\n"
    )
    print(header + text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(header + text)
    if args.html:
        args.html.write_text(profiler.output_html())


def _commit() -> str:
    """The commit of the python-reverb being profiled (its source may be another checkout)."""
    import reverb

    source = Path(reverb.__file__).parent
    done = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown commit"


if __name__ == "__main__":
    main()
