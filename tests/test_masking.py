"""Card numbers never reach a log: the scrub filter masks messages and tracebacks."""

import io
import logging

from steadypos.masking import ScrubFilter, mask_pan, scrub

PAN = "6222021234567890123"


def test_mask_pan_keeps_first_six_and_last_four() -> None:
    assert mask_pan(PAN) == "622202*********0123"
    assert mask_pan("6222021234560123") == "622202******0123"


def test_scrub_masks_pans_and_track_data() -> None:
    assert PAN not in scrub(f"pan={PAN}")
    assert scrub(f"t2 {PAN}D29121010000") == "t2 <track2>"


def test_filter_scrubs_messages_and_tracebacks() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(ScrubFilter())
    log = logging.getLogger("steadypos.test_masking")
    log.addHandler(handler)
    try:
        log.warning("card %s", PAN)
        try:
            raise ValueError(f"bad card {PAN}")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    text = out.getvalue()
    assert PAN not in text
    assert "622202*********0123" in text and "ValueError" in text


def test_scrub_after_its_quick_check_masks_what_the_patterns_mask() -> None:
    # Fewer than 12 digits in a row: nothing to mask, the text comes back as it was.
    assert scrub("stan=000002 batch=000001 pan=622202*********0123") == \
        "stan=000002 batch=000001 pan=622202*********0123"
    # 12 digits and a separator: track data; 13: a PAN; non-ASCII digits take the full scan.
    assert scrub("622202123456D2912") == "<track2>"
    assert scrub("x 6222021234567 y") == "x 622202***4567 y"
    arabic = "".join(chr(0x660 + int(d)) for d in PAN)
    assert arabic not in scrub(f"pan {arabic} é")
