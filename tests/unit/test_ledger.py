"""Taking each partition's messages in offset order from its next offset, without gaps or repeats."""

from dataclasses import dataclass

from faust.types import TP

from streams.plumbing.ledger import STALLED_AFTER_S, Admission, Ledger, admit, lost_by_broker

A, B = TP("aid.signals", 0), TP("aid.signals", 1)


@dataclass
class Message:
    tp: TP
    offset: int


def offsets(messages) -> list[tuple[int, int]]:
    return [(m.tp.partition, m.offset) for m in messages]


def test_messages_in_order_are_all_admitted_and_advance_their_partition():
    admission = admit([Message(A, 5), Message(B, 0), Message(A, 6)], {A: 5, B: 0})
    assert offsets(admission.admitted) == [(0, 5), (1, 0), (0, 6)]
    assert admission.next_offsets == {A: 7, B: 1}


def test_repeats_below_the_next_offset_are_passed_over():
    admission = admit([Message(A, 3), Message(A, 4), Message(A, 5), Message(A, 4), Message(A, 6)], {A: 5})
    assert offsets(admission.admitted) == [(0, 5), (0, 6)]
    assert admission.next_offsets == {A: 7}
    assert (admission.repeats, admission.gaps) == (3, {})


def test_a_gap_stops_that_partition_while_others_go_on():
    admission = admit([Message(A, 5), Message(A, 8), Message(B, 2), Message(A, 6), Message(A, 9)], {A: 5, B: 2})
    assert offsets(admission.admitted) == [(0, 5), (1, 2)]
    assert admission.next_offsets == {A: 6, B: 3}
    assert (admission.repeats, admission.gaps) == (0, {A: (6, 8)})


def test_a_partition_with_nothing_admitted_commits_nothing():
    assert admit([Message(A, 9)], {A: 5}) == Admission([], {}, repeats=0, gaps={A: (5, 9)})
    assert admit([], {A: 5}) == Admission([], {})


def test_a_new_generation_forgets_every_partition():
    ledger = Ledger()
    ledger.start_generation(1)
    ledger.advance({A: 10}, now=0.0)
    assert ledger.unknown({A, B}) == {B}
    ledger.start_generation(1)
    assert ledger.next_offsets == {A: 10}
    ledger.start_generation(2)
    assert ledger.unknown({A}) == {A} and ledger.stalled(now=100.0) == {}


def test_a_partition_that_stops_moving_is_read_again_from_its_next_offset_once_per_interval():
    ledger = Ledger()
    ledger.advance({A: 5, B: 7}, now=100.0)
    ledger.advance({B: 9}, now=100.0 + STALLED_AFTER_S / 2)
    assert ledger.stalled(now=100.0 + STALLED_AFTER_S / 2) == {}
    assert ledger.stalled(now=100.0 + STALLED_AFTER_S) == {A: 5}
    assert ledger.stalled(now=100.0 + STALLED_AFTER_S) == {}
    assert ledger.stalled(now=100.0 + 2 * STALLED_AFTER_S) == {A: 5, B: 9}


def test_nothing_counts_as_stalled_while_a_batch_is_being_written():
    ledger = Ledger()
    ledger.advance({A: 5}, now=0.0)
    with ledger.writing():
        assert ledger.stalled(now=60.0) == {}
    assert ledger.stalled(now=60.0) == {A: 5}


def test_resuming_does_not_move_back_a_partition_a_batch_has_moved_on():
    ledger = Ledger()
    ledger.advance({A: 120}, now=0.0)
    ledger.resume({A: 100, B: 7}, now=0.0)
    assert ledger.next_offsets == {A: 120, B: 7}


def test_a_log_that_ends_before_what_was_processed_was_lost_by_the_broker():
    signals, commands = TP("aid.signals", 0), TP("aid.case-commands", 0)
    assert lost_by_broker({signals: 120, commands: 7}, {signals: 3, commands: 7}) == {signals: (3, 120)}
    assert lost_by_broker({signals: 120}, {signals: 120}) == {}
