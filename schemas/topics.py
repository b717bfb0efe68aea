"""Kafka topic names: part of the contract, never renamed."""

HOTLINE_CALLS = "hotline.calls"
HOSPITAL_ADMISSIONS = "hospital.admissions"
DEPARTMENT_CHANGES = "department.changes"
SIGNALS = "aid.signals"
CASE_COMMANDS = "aid.case-commands"
CASE_EVENTS = "aid.case-events"
DEADLETTER = "aid.deadletter"
NOTIFICATIONS = "aid.notifications"
# Officers' identifications of unidentified subjects, keyed by ID number: read by intake with the input topics.
IDENTIFICATIONS = "aid.identifications"

INPUTS = (HOTLINE_CALLS, HOSPITAL_ADMISSIONS, DEPARTMENT_CHANGES)
INTAKE = (*INPUTS, IDENTIFICATIONS)

ALL_TOPICS = (
    HOTLINE_CALLS,
    HOSPITAL_ADMISSIONS,
    DEPARTMENT_CHANGES,
    SIGNALS,
    CASE_COMMANDS,
    CASE_EVENTS,
    DEADLETTER,
    NOTIFICATIONS,
    IDENTIFICATIONS,
)
