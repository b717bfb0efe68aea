"""Matcher: shows an unidentified subject beside the open cases nearby that may be about the same person (可能是同一人).

It reads aid.case-events with a consumer group of its own. For each case opened about someone with no ID number it
compares the open cases of the same town in the read model (the rules are streams.rules.matching) and sends both
households a `possible_match` command on aid.signals (in each household's order with its signals, so a replay of
triage reads it where it was the first time), so both cases show it, for an officer to confirm (the cases merge) or dismiss.
Advice, not a decision, so it never holds up a call: its offsets are committed once the commands are written, and a
replay after a crash sends them again, which triage drops as already listed.
"""

import logging
from functools import partial

import mode
import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError

from schemas import readmodel, topics
from schemas.case import Case, CaseEventType, OrderedCommand
from streams.plumbing.app import app, clock, group_consumer, new_effects, policy, read_model, settings
from streams.plumbing.effects import REDIS_ERRORS, until_written
from streams.plumbing.metrics import projection_errors
from streams.rules.matching import possible_match

log = logging.getLogger(__name__)
MATCHER = "system:matcher"


def unidentified_opened(raw: bytes) -> Case | None:
    """The case a case event opened about someone not identified, else None."""
    event = orjson.loads(raw)
    if event.get("type") != CaseEventType.OPENED or not event.get("case") or event["case"]["subject"].get("id_masked"):
        return None
    return Case.model_validate(event["case"])


async def open_cases_in_town(town: str) -> list[Case]:
    """The open cases of a town, from the read model."""
    redis = read_model.redis
    case_ids = await redis.zinter([readmodel.OPEN_CASES, readmodel.index_key("town", town)])
    async with redis.pipeline(transaction=False) as pipe:
        for case_id in case_ids:
            pipe.hget(readmodel.case_key(case_id.decode()), "doc")
        docs = await pipe.execute()
    return [Case.model_validate_json(doc) for doc in docs if doc]


def match_commands(new: Case, others: list[Case]) -> list[OrderedCommand]:
    """A possible_match for each household of a pair that may be one person: the new case's and the other's."""
    commands = []
    for other in others:
        if (seen_from_new := possible_match(new, other, policy.matching)) is None:
            continue
        seen_from_other = possible_match(other, new, policy.matching)
        for case, match in ((new, seen_from_new), (other, seen_from_other)):
            command_id = f"match:{case.case_id}:{match.case_id}"
            commands.append(
                OrderedCommand(
                    type="possible_match",
                    household_id=case.household_id,
                    case_id=case.case_id,
                    issued_at=clock.now(),
                    actor=MATCHER,
                    command_id=command_id,
                    match=match,
                )
            )
    return commands


class Matcher(mode.Service):
    """The matcher's consumer group: case events in, possible_match commands out, then its offsets committed."""

    consumer: AIOKafkaConsumer | None = None

    async def on_start(self) -> None:
        self.consumer = group_consumer("matcher", topics.CASE_EVENTS)
        await self.consumer.start()

    async def on_stop(self) -> None:
        if self.consumer is not None:  # None when the worker stopped before this service started
            await self.consumer.stop()

    @mode.Service.task
    async def _consume(self) -> None:
        while not self.should_stop:
            fetched = await self.consumer.getmany(timeout_ms=200, max_records=settings.batch_size)
            opened = [case for records in fetched.values() for record in records if (case := unidentified_opened(record.value))]
            effects = new_effects()
            for case in opened:
                town = await until_written("read model", partial(open_cases_in_town, case.area.town), REDIS_ERRORS, projection_errors)
                for command in match_commands(case, [other for other in town if other.case_id != case.case_id]):
                    effects.send(topics.SIGNALS, command.household_id.encode(), command.model_dump_json(exclude_none=True).encode())
            await effects.commit()
            if fetched:
                try:
                    await self.consumer.commit()
                except CommitFailedError as error:
                    log.warning("matcher offsets not committed (%s); the batch will be read again", error)


app.service(Matcher())
