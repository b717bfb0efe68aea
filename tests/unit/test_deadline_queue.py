from streams.rules.deadline_queue import DeadlineQueue


def test_pops_only_due_keys_in_time_order():
    queue = DeadlineQueue()
    queue.schedule("a", 10)
    queue.schedule("b", 5)
    queue.schedule("c", 20)
    assert queue.pop_due(4) == []
    assert queue.pop_due(10) == ["b", "a"]
    assert len(queue) == 1


def test_rescheduling_replaces_and_none_cancels():
    queue = DeadlineQueue()
    queue.schedule("a", 10)
    queue.schedule("a", 30)
    queue.schedule("b", 10)
    queue.schedule("b", None)
    assert queue.pop_due(15) == []
    assert queue.pop_due(30) == ["a"]


def test_rebuild_replaces_everything():
    queue = DeadlineQueue()
    queue.schedule("old", 1)
    queue.rebuild([("x", 3), ("y", 2)])
    assert queue.pop_due(5) == ["y", "x"]


def test_stale_entries_are_compacted():
    queue = DeadlineQueue()
    for at in range(5000):
        queue.schedule("a", float(at))
    assert len(queue._heap) < 2000
    assert queue.pop_due(10_000) == ["a"]
