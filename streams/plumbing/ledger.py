"""Each partition's next offset to process, so triage takes messages strictly in order and commits only what it wrote.

Faust's own acking proved unsafe here. Around rebalances and table recovery its fetcher dropped
messages (fetched under an older consumer generation, or behind a read offset that had run past a
seek), its ack bookkeeping still committed offsets past them, and it delivered others twice; the
crash test lost events that way. Triage therefore turns Faust's acks off for its topics and keeps
this ledger: a message below its partition's next offset was already written and is passed over,
a gap stops the partition there, a partition that has not moved on for a while is sought back to
its next offset (the dropped messages are fetched again), and once a batch's effects are written
the next offsets advance and are committed.

This is Faust's doing, not the broker's: the crash tests (tests/integration/test_crash*.py, which
print the ledger's counts from the workers' logs) see it on Tansu and on Apache Kafka alike. On both,
a worker that has just recovered its tables is often first handed its partitions' messages from
some way past the committed offset (those fetched during recovery were dropped: 3 to 11 such gaps
a run, 3 to 3,360 offsets in all), so the ledger stops there and reads them again. On Kafka a
fresh worker's first batch has also held messages below the committed offset (13 and 4 in one
run). Messages of an earlier generation were not seen in these runs. So the ledger stays on either
broker. Its own re-reads cost something: a partition slow only because the worker is busy counts
as stalled too, and what was already queued then comes twice (most repeats the tests count are
these, in long-lived workers). What it did is logged ("ledger: ...") and counted
(rapidaid_worker_ledger_*).
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from faust.types import TP

STALLED_AFTER_S = 1.0  # no progress for this long: read the partition again from its next offset


class Positioned(Protocol):
    """A consumed message: its partition and offset."""

    tp: TP
    offset: int


@dataclass(frozen=True)
class Admission:
    """The messages of a batch to process, in order, each partition's next offset after them, and what was passed over:
    repeats (below the next offset, already processed) and gaps (each partition whose next message was missing: that
    next offset and the one found instead)."""

    admitted: list[Positioned]
    next_offsets: dict[TP, int]
    repeats: int = 0
    gaps: dict[TP, tuple[int, int]] = field(default_factory=dict)


def admit(messages: Sequence[Positioned], next_offsets: Mapping[TP, int]) -> Admission:
    """Take each partition's messages from its next offset on, stopping at a gap and passing over repeats."""
    admitted, advanced, gaps, repeats = [], dict(next_offsets), {}, 0
    for message in messages:
        tp = message.tp
        if tp in gaps:
            continue
        if message.offset < advanced[tp]:
            repeats += 1
            continue
        if message.offset > advanced[tp]:
            gaps[tp] = (advanced[tp], message.offset)
            continue
        admitted.append(message)
        advanced[tp] = message.offset + 1
    return Admission(admitted, {tp: advanced[tp] for tp in {m.tp for m in admitted}}, repeats, gaps)


@dataclass
class Ledger:
    """Next offsets of the partitions this worker holds in one consumer generation, and when each last moved on."""

    generation: int = -1
    next_offsets: dict[TP, int] = field(default_factory=dict)
    moved_at: dict[TP, float] = field(default_factory=dict)
    writing_batch: bool = False

    def start_generation(self, generation: int) -> None:
        """After a rebalance, forget every partition: each resumes from its committed offset."""
        if generation != self.generation:
            self.generation = generation
            self.next_offsets.clear()
            self.moved_at.clear()

    def unknown(self, partitions: Iterable[TP]) -> set[TP]:
        """Those of the partitions whose next offset is not known yet (newly assigned)."""
        return set(partitions) - self.next_offsets.keys()

    def resume(self, offsets: Mapping[TP, int], now: float) -> None:
        """Record where newly assigned partitions resume, unless a batch has moved them on meanwhile."""
        self.advance({tp: offset for tp, offset in offsets.items() if tp not in self.next_offsets}, now)

    def advance(self, offsets: Mapping[TP, int], now: float) -> None:
        """Record next offsets: where processing resumes, or the offsets after a written batch."""
        self.next_offsets.update(offsets)
        self.moved_at.update({tp: now for tp in offsets})

    @contextmanager
    def writing(self) -> Iterator[None]:
        """While a batch is being written (perhaps retried through an outage), no partition counts as stalled."""
        self.writing_batch = True
        try:
            yield
        finally:
            self.writing_batch = False

    def stalled(self, now: float) -> dict[TP, int]:
        """Partitions that have not moved on for STALLED_AFTER_S, with the offset to read them again from."""
        if self.writing_batch:
            return {}
        due = {tp: self.next_offsets[tp] for tp, moved in self.moved_at.items() if now - moved >= STALLED_AFTER_S}
        self.moved_at.update({tp: now for tp in due})
        return due


def lost_by_broker(next_offsets: Mapping[TP, int], ends: Mapping[TP, int]) -> dict[TP, tuple[int, int]]:
    """Partitions whose log now ends before what was already processed (a broker that restarted empty): (end, next)."""
    return {tp: (ends[tp], next_offsets[tp]) for tp in ends.keys() & next_offsets.keys() if ends[tp] < next_offsets[tp]}
