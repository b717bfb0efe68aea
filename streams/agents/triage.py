"""Triage agent: the single writer of each household's state and open case, and of the read model."""

import asyncio
import logging
import os
import time
from contextlib import suppress
from datetime import datetime
from typing import NamedTuple, NoReturn

import faust
from aiokafka.errors import IllegalStateError, KafkaError
from faust.exceptions import ConsumerNotStarted
from faust.types import TP
from redis.exceptions import RedisError

from schemas import readmodel, topics
from schemas.case import CaseCommand, CaseEvent, OrderedCommand, Signal
from schemas.messages import say
from streams.agents.deadlines import queue
from streams.plumbing.app import (
    app,
    dead_letter_on_failure,
    household_state,
    households,
    new_effects,
    partner_name,
    place_name,
    policy,
    read_model,
    settings,
    topic,
)
from streams.plumbing.effects import Effects
from streams.plumbing.ledger import STALLED_AFTER_S, Admission, Ledger, admit, lost_by_broker
from streams.plumbing.metrics import ledger_gaps, ledger_passed_over, ledger_rereads, observe, view_failures
from streams.plumbing.topics import BrokerTopics
from streams.rules.cases import TRIAGE, Outcome, apply_signal
from streams.rules.followups import VISIT_COMMANDS, apply_visit_command
from streams.rules.household import HouseholdState
from streams.rules.household_view import Change, viewed_changes, with_household
from streams.rules.matching import MATCH_COMMANDS, apply_match_command
from streams.rules.merge import apply_move, forwarding, moving, signal_or_command
from streams.rules.normalise import RejectedInput, parse, time_of
from streams.rules.notifications import notifications_for
from streams.rules.referrals import REFERRAL_COMMANDS, apply_referral_command
from streams.rules.visits import tick_household, wake_at
from streams.rules.watch import WATCH_COMMANDS, apply_watch_command, with_watch
from streams.rules.workflow import apply_command

log = logging.getLogger(__name__)
ledger = Ledger()
broker_topics = BrokerTopics(settings.kafka)
LOST_TOPICS_CHECK_S = 0.5
EXIT_BROKER_RESET = 75  # EX_TEMPFAIL: the supervisor (launcher, compose) starts a fresh worker
MAX_COMMAND_BYTES = 900_000  # below Kafka's default 1 MiB record limit


def decide(topic_name: str, household_id: str, state: HouseholdState, now: datetime, raw: bytes) -> Outcome:
    """Apply one signal or command, keyed by household_id, to the household state (or forward it where the household moved)."""
    # A take_over carries a whole household: these topics are internal, so bounded by the broker's record size, not the API's.
    message = parse(signal_or_command if topic_name == topics.SIGNALS else CaseCommand.model_validate, raw, MAX_COMMAND_BYTES)
    if message.household_id != household_id:
        raise RejectedInput(say("validation.household_mismatch"), "household_id")
    if forwarded := forwarding(state, message):
        return forwarded
    if isinstance(message, Signal):
        return with_watch(apply_signal(state, message, now, policy), now, policy, TRIAGE, message.event_id)
    if message.type == "deadline_due":
        return tick_household(state, now, policy)
    if moving(message):
        return with_watch(apply_move(state, message, now), now, policy, TRIAGE, message.command_id)
    if message.type in WATCH_COMMANDS:
        return apply_watch_command(state, message, now, policy)
    if message.type in VISIT_COMMANDS:
        return apply_visit_command(state, message, now, policy)
    if message.type in MATCH_COMMANDS:
        return apply_match_command(state, message, now)
    if message.type in REFERRAL_COMMANDS:
        return apply_referral_command(state, message, now, policy)
    return apply_command(state, message, now, policy)


def with_wake_time(state: HouseholdState) -> HouseholdState:
    """Record when time alone next changes the household: its open case or a visit due."""
    wake = wake_at(state, policy)
    return state.model_copy(update={"wake_at": wake.timestamp() if wake else None})


class Recorded(NamedTuple):
    """A change triage recorded, and where its case events go: the household's key and partition."""

    key: bytes
    partition: int
    change: Change


def triage_one(message: faust.types.Message, effects: Effects) -> Recorded | None:
    """Score a signal or apply a command at the record's time; record the new state; return the case events to write, if any."""
    key = message.key or b""
    household_id = key.decode("utf-8", "replace")
    # As Effects.set writes it: the table's own get reports every read to the sensors.
    stored = households.data.get_in(message.partition, key)
    state = household_state(stored) if stored else HouseholdState(household_id=household_id, partition=message.partition)
    timestamp_ms = round(message.timestamp * 1000)
    with dead_letter_on_failure(message, timestamp_ms, effects):
        now = time_of(timestamp_ms)
        outcome = decide(message.topic, household_id, state, now, message.value)
        record(household_id, key, message.partition, state, outcome, timestamp_ms, effects)
        return Recorded(key, message.partition, Change(outcome.events, outcome.state, now)) if outcome.events else None
    return None


def record(household_id: str, key: bytes, partition: int, before: HouseholdState, outcome: Outcome, at_ms: int, effects: Effects) -> None:
    """Schedule the household's next wake-up and write the new state; pass signals and commands on at the same record time,
    so a replay passes on the same."""
    new_state = with_wake_time(outcome.state)
    # Everything that may fail comes before the first effect: a failure then dead-letters the message with nothing of it
    # written, not a household state whose case events never reach the read model.
    observe(outcome.events)
    queue.schedule(household_id, new_state.wake_at)
    for signal in outcome.signals:
        effects.send(topics.SIGNALS, signal.household_id.encode(), signal.model_dump_json().encode(), at_ms)
    for command in outcome.commands:
        # A move (or a match) goes in the receiving household's order with its signals (streams.rules.merge explains why).
        destination = topics.SIGNALS if isinstance(command, OrderedCommand) else topics.CASE_COMMANDS
        effects.send(destination, command.household_id.encode(), command.model_dump_json(exclude_none=True).encode(), at_ms)
    if not outcome.events and outcome.state is before:
        return
    effects.set(households, key, new_state, partition)


def send_case_events(batch: list[Recorded], effects: Effects) -> None:
    """Write a batch's case events and their notifications, the household view on each household's last change."""
    viewed = viewed_changes([recorded.change for recorded in batch])
    for n, (key, partition, change) in enumerate(batch):
        for case_event in with_view(change) if n in viewed else change.events:
            # Keyed like the household's signals and commands, so in the same partition number.
            effects.send(topics.CASE_EVENTS, key, case_event.model_dump_json().encode(), partition=partition, project=True)
            for notice in notifications_for(case_event, policy, place_name, partner_name):
                effects.send(topics.NOTIFICATIONS, notice.key.encode(), notice.model_dump_json().encode())


def with_view(change: Change) -> list[CaseEvent]:
    """The change's events with the household view; without it if building the view fails, logged and counted."""
    try:
        return with_household(change.events, change.state, change.now, policy)
    except Exception:  # a bug in the view must not hold back the case events of a change already recorded
        log.exception("household view of %s not built", change.state.household_id)
        view_failures.inc()
        return change.events


async def write_even_if_stopped(effects: Effects) -> None:
    """Write a batch's effects to the end even if the agent is cancelled meanwhile (a stopping worker)."""
    writing = asyncio.ensure_future(effects.commit())
    try:
        await asyncio.shield(writing)
    except asyncio.CancelledError:
        await writing
        raise


TRIAGED = (topics.SIGNALS, topics.CASE_COMMANDS)


@app.agent(topic(*TRIAGED, acks=False))
async def triage(stream):
    """Score signals, open or update cases, apply deadline ticks and officers' commands, a batch at a time.

    Each partition's messages are taken in offset order from its committed offset, and offsets are
    committed only after the batch's effects are written (streams.plumbing.ledger explains why not Faust's acks).
    """
    async for batch in stream.take_events(settings.batch_size, within=settings.batch_wait_s):
        await learn_partitions({event.message.tp for event in batch})
        # Messages fetched before a rebalance may be of partitions this worker no longer holds.
        messages = [event.message for event in batch if event.message.generation_id == ledger.generation]
        admission = admit(messages, ledger.next_offsets)
        report_passed_over(len(batch) - len(messages), admission)
        effects = new_effects()
        send_case_events([recorded for message in admission.admitted if (recorded := triage_one(message, effects))], effects)
        with ledger.writing():
            await write_even_if_stopped(effects)
        ledger.advance(admission.next_offsets, time.monotonic())
        if admission.next_offsets:
            await app.consumer.commit_offsets(admission.next_offsets)


def report_passed_over(earlier_generation: int, admission: Admission) -> None:
    """Count and log what a batch had that the ledger did not take: how often Faust repeats, drops or delivers late."""
    if not (earlier_generation or admission.repeats or admission.gaps):
        return
    ledger_passed_over.labels("repeat").inc(admission.repeats)
    ledger_passed_over.labels("earlier_generation").inc(earlier_generation)
    ledger_gaps.inc(len(admission.gaps))
    log.info(
        "ledger: passed over %d repeats and %d messages of an earlier generation; %d partitions stopped at a gap%s",
        admission.repeats,
        earlier_generation,
        len(admission.gaps),
        "".join(f" {tp.topic}[{tp.partition}]@{expected}→{found}" for tp, (expected, found) in admission.gaps.items()),
    )


async def learn_partitions(partitions: set[TP]) -> None:
    """Start a new consumer generation if there was a rebalance, and read where new partitions resume."""
    ledger.start_generation(app.consumer_generation_id)
    if unknown := ledger.unknown(partitions):
        ledger.resume(await app.consumer.resume_offsets(unknown), time.monotonic())


@app.timer(STALLED_AFTER_S / 2)
async def reread_stalled() -> None:
    """Seek partitions that stopped moving back to their next offset, so messages the consumer dropped are read again."""
    try:
        assigned = app.consumer.assignment()
    except ConsumerNotStarted:
        return
    await learn_partitions({tp for tp in assigned if tp.topic in TRIAGED})
    if not (stalled := ledger.stalled(time.monotonic())):
        return
    ends = await app.consumer.highwaters(*stalled)
    if lost := lost_by_broker(stalled, ends):
        await start_over(f"partitions now end before what was processed: {lost}")
    # A partition read to its end is idle, not stalled: nothing to read again.
    waiting = {tp: offset for tp, offset in stalled.items() if ends[tp] > offset}
    if waiting:
        ledger_rereads.inc(len(waiting))
        log.info("ledger: %d stalled partitions with records waiting read again from their next offsets %s", len(waiting), waiting)
    for tp, offset in waiting.items():
        with suppress(IllegalStateError):  # revoked meanwhile: its next owner resumes from the committed offset
            await app.consumer.seek_in_consumer_thread(tp, offset)


@app.timer(LOST_TOPICS_CHECK_S)
async def notice_lost_topics() -> None:
    """Start over if the broker no longer has the triaged topics: an Apache Kafka that restarted empty does not create them
    again, and asking for their offsets would hang the consumer."""
    # Asked of the broker itself on a connection of its own: the consumer's view of the metadata is not refreshed while
    # one of its calls hangs on the lost topics (reread_stalled asking where they resume waited 90 s so).
    with suppress(KafkaError, OSError):  # the broker is away: asked again at the next tick
        if gone := await broker_topics.missing(TRIAGED):
            await start_over(f"topics {gone} no longer exist")


async def start_over(lost: str) -> NoReturn:
    """Exit for a fresh worker: tables, ledger and read model describe a log the broker no longer has."""
    log.error("the broker lost its data (%s); restarting the worker", lost)
    with suppress(RedisError):  # the next worker rebuilds the read model from what the broker has
        await read_model.redis.delete(readmodel.COMPLETE)
    logging.shutdown()
    os._exit(EXIT_BROKER_RESET)
