"""What each injected fault did to the client, and a summary table per fault kind."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """The outcome of one fault.

    Attributes:
        kind: the fault kind (see :data:`tests.faults.kinds.KINDS`).
        description: the fault with its parameters, for messages.
        detection: seconds from the fault striking to the client leaving ``connected``
            (``None`` for faults that must not cost the connection).
        recovery: seconds from the fault striking to every subscription confirmed on the new
            socket (``None`` likewise).
        elapsed: seconds the whole round took, checks included.
    """

    kind: str
    description: str
    detection: float | None
    recovery: float | None
    elapsed: float


def _stats(values: list[float]) -> tuple[str, str]:
    if not values:
        return "-", "-"
    return f"{statistics.median(values) * 1000:.0f}", f"{max(values) * 1000:.0f}"


def summarize(records: Iterable[FaultRecord], title: str) -> str:
    """A table: per kind, the count and median/max detection and recovery times in ms."""
    by_kind: dict[str, list[FaultRecord]] = defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)
    header = (
        f"{'fault':<16} {'count':>5}  {'detect med':>10} {'detect max':>10}  "
        f"{'recover med':>11} {'recover max':>11}   (ms)"
    )
    lines = [title, header, "-" * len(header)]
    total = 0
    for kind in sorted(by_kind):
        group = by_kind[kind]
        total += len(group)
        detect = _stats([r.detection for r in group if r.detection is not None])
        recover = _stats([r.recovery for r in group if r.recovery is not None])
        lines.append(
            f"{kind:<16} {len(group):>5}  {detect[0]:>10} {detect[1]:>10}  "
            f"{recover[0]:>11} {recover[1]:>11}"
        )
    elapsed = sum(r.elapsed for r in (r for group in by_kind.values() for r in group))
    lines.append(f"{total} faults in {elapsed:.1f} s")
    return "\n".join(lines)
