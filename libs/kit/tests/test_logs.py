"""The access log: batched writes, whole lines, a warning at once, nothing held back long."""

import io
import logging

import pytest

from pyk8s_kit.logs import ACCESS_LOGGER, BatchedStreamHandler, setup_logging
from pyk8s_kit.testing import wait_until


class RecordedStream(io.StringIO):
    """A stream that keeps each write apart, as the system calls they would be."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


@pytest.fixture
def logged():
    stream = RecordedStream()
    handler = BatchedStreamHandler(stream, flush_seconds=3600, batch_lines=3)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test.batched")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)
    handler.close()


def test_lines_go_out_together_once_a_batch_is_full(logged):
    logger, stream = logged
    logger.info("one")
    logger.info("two")
    assert stream.writes == []
    logger.info("three")
    logger.info("four")
    assert stream.writes == ["one\ntwo\nthree\n"]


def test_a_warning_goes_out_at_once_after_the_lines_before_it(logged):
    logger, stream = logged
    logger.info("GET /api/v1/clusters 200")
    logger.warning("something is wrong")
    assert stream.writes == ["GET /api/v1/clusters 200\nsomething is wrong\n"]


def test_a_quiet_moment_does_not_hold_lines_back():
    stream = RecordedStream()
    handler = BatchedStreamHandler(stream, flush_seconds=0.05, batch_lines=100)
    handler.setFormatter(logging.Formatter("%(message)s"))
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "alone", None, None)
    try:
        handler.handle(record)
        assert wait_until(lambda: stream.writes, timeout=5) == ["alone\n"]
    finally:
        handler.close()


def test_closing_writes_what_is_left(logged):
    logger, stream = logged
    logger.info("last words")
    for handler in logger.handlers:
        handler.close()
    assert stream.writes == ["last words\n"]


def test_the_access_log_is_batched_once_and_not_written_twice():
    access = logging.getLogger(ACCESS_LOGGER)
    before = list(access.handlers)
    try:
        setup_logging("INFO")
        setup_logging("INFO")
        batched = [h for h in access.handlers if isinstance(h, BatchedStreamHandler)]
        assert len(batched) == 1
        assert access.propagate is False
    finally:
        for handler in access.handlers:
            if handler not in before:
                access.removeHandler(handler)
                handler.close()
        access.propagate = True


class BrokenStream(RecordedStream):
    def write(self, text: str) -> int:
        raise BrokenPipeError


def test_a_broken_stream_drops_the_batch_and_never_raises_into_the_caller(monkeypatch):
    errors = []
    handler = BatchedStreamHandler(BrokenStream(), flush_seconds=3600, batch_lines=1)
    monkeypatch.setattr(handler, "handleError", errors.append)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "lost", None, None)
    try:
        handler.handle(record)
        assert errors == [record]
        working = RecordedStream()
        handler.setStream(working)
        handler.flush()
        assert working.writes == []
    finally:
        handler.close()
