"""logs.info: a request's line written straight to the handler logs.setup() made is the line
logging would write, scrubbed; anything else on its way sends it through logging."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from steadypos import logs

PAN = "6222021234567890123"
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    tree = logging.getLogger("steadypos")
    saved = (tree.handlers[:], tree.level, tree.propagate, logs._direct)
    path = tmp_path / "host.log"
    logs.setup(path=str(path))
    try:
        yield path
    finally:
        for handler in tree.handlers:
            handler.close()
        tree.handlers[:], tree.level, tree.propagate, logs._direct = saved


def test_a_straight_line_is_the_line_logging_writes(log_file: Path) -> None:
    log = logging.getLogger("steadypos.host")
    log.info("%s sale stan=%06d pan=%s rc=%s", "B0000001", 7, PAN, "00")
    logs.info(log, "%s sale stan=%06d pan=%s rc=%s", "B0000001", 7, PAN, "00")
    logs.hold()
    logs.info(log, "held %d", 1)  # written at the release, in order
    logs.release()
    lines = log_file.read_text().splitlines()
    assert len(lines) == 3
    assert all(STAMP.match(line) for line in lines)
    assert STAMP.sub("", lines[0]) == STAMP.sub("", lines[1]) == \
        "INFO steadypos.host B0000001 sale stan=000007 pan=622202*********0123 rc=00"
    assert STAMP.sub("", lines[2]) == "INFO steadypos.host held 1"


def test_a_filter_or_a_level_on_the_way_sends_the_line_through_logging(log_file: Path) -> None:
    log = logging.getLogger("steadypos.host")
    seen: list[str] = []

    def keep(record: logging.LogRecord) -> bool:
        seen.append(record.getMessage())
        return True

    log.addFilter(keep)
    try:
        logs.info(log, "filtered %s", PAN)
    finally:
        log.removeFilter(keep)
    log.setLevel(logging.WARNING)
    try:
        logs.info(log, "below the level")
    finally:
        log.setLevel(logging.NOTSET)
    assert seen == [f"filtered {PAN}"]  # the filter saw it: logging carried it
    text = log_file.read_text()
    assert "filtered 622202*********0123" in text and PAN not in text
    assert "below the level" not in text


def test_kept_lines_are_written_once_with_what_became_of_them_or_dropped(
        log_file: Path) -> None:
    log = logging.getLogger("steadypos.host")
    logs.keep()
    try:
        logs.info(log, "%s sale stan=%06d rc=%s", "B0000001", 1, "00")
        mark = logs.kept()
        logs.info(log, "%s sale stan=%06d rc=%s", "B0000001", 2, "00")  # its run undone
        logs.drop_kept(mark)
        logs.info(log, "50% off")  # no arguments: a literal % stays as it is
        with pytest.raises(TypeError):  # a bad line fails where it is logged, not later
            logs.info(log, "%d", "not a number")
        assert log_file.read_text() == ""  # nothing written while kept
    finally:
        logs.write_kept("(not committed)")  # a failing assert must not leave this thread kept
    logs.info(log, "after")  # written as it comes again
    assert [STAMP.sub("", line) for line in log_file.read_text().splitlines()] == [
        "INFO steadypos.host B0000001 sale stan=000001 rc=00 (not committed)",
        "INFO steadypos.host 50% off (not committed)",
        "INFO steadypos.host after"]
