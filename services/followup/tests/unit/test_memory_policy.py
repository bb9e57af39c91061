"""The bulk requests' memory policy (`adapters/memory.py`) and the whole-column JSON decoding of
the SQL repositories."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from rescue_followup.adapters.memory import paused_gc, release_request_memory
from rescue_followup.adapters.repositories import _json_column


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_overlapping_pauses_resume_the_collector_with_the_last(collector_on: None) -> None:
    first, second = paused_gc(), paused_gc()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the other request still reads
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_off_before_stays_off(collector_on: None) -> None:
    gc.disable()
    with paused_gc():
        pass
    assert not gc.isenabled()


def test_pauses_from_threads_are_counted(collector_on: None) -> None:
    inside, leave = threading.Barrier(3), threading.Event()

    def read() -> None:
        with paused_gc():
            inside.wait()
            leave.wait()

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    assert not gc.isenabled()
    leave.set()
    for t in threads:
        t.join()
    assert gc.isenabled()


def test_release_after_a_request_runs_anywhere() -> None:
    release_request_memory()  # a full collection and a trim (a no-op without glibc)


def test_a_json_column_decodes_in_one_call() -> None:
    rows = [("a", '{"x": 1.5, "y": [true, null]}'), ("b", None), ("c", "null"), ("d", '"t"')]
    assert _json_column(rows, 1) == [{"x": 1.5, "y": [True, None]}, None, None, "t"]
    assert _json_column([], 1) == []


def test_a_corrupt_stored_text_is_refused_not_misread() -> None:
    with pytest.raises(ValueError, match="one value per row"):
        _json_column([("a", '1, 2')], 1)
