"""The worker's metrics of what case events say happened."""

from datetime import timedelta

from schemas.case import CaseEventType
from streams.plumbing.metrics import observe, registry
from streams.rules.followups import apply_visit_command
from streams.rules.workflow import apply_command
from tests.unit.test_followups import CASH, DEFAULT, START, closed, officer

ACKNOWLEDGED = "rapidaid_worker_time_to_acknowledge_seconds_count"
AIDED = "rapidaid_worker_time_to_aid_seconds_count"


def test_the_steps_of_a_case_reopened_without_an_acknowledge_deadline_are_counted_without_failing():
    state = closed()
    case_id = state.closed_cases[-1].case_id
    dissatisfied = officer(state, "record_satisfaction", case_id, rating="dissatisfied", text="钱到得太晚")
    state = apply_visit_command(state, dissatisfied, START, DEFAULT).state
    assert "acknowledge" not in state.open_case.deadlines  # supervised (督办): its deadline is the supervision's
    acknowledged, aided = registry.get_sample_value(ACKNOWLEDGED), registry.get_sample_value(AIDED)
    steps = [("acknowledge", {}), ("assign", {"assignee": "村委会值班组"}), ("deliver", {"outcome": CASH})]
    for minutes, (kind, fields) in enumerate(steps, start=1):
        outcome = apply_command(
            state, officer(state, kind, case_id, command_id=f"again-{kind}", **fields), START + timedelta(minutes=minutes), DEFAULT
        )
        assert outcome.events[0].type in (CaseEventType.ACKNOWLEDGED, CaseEventType.ASSIGNED, CaseEventType.AID_DELIVERED)
        observe(outcome.events)  # raised KeyError('acknowledge'), which dead-lettered the officer's command
        state = outcome.state
    assert registry.get_sample_value(ACKNOWLEDGED) == acknowledged  # no first acknowledgement to time
    assert registry.get_sample_value(AIDED) == aided + 1
