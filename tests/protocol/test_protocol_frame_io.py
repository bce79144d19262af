"""The frame helpers every reader and writer of the link shares (protocol.frame owns them)."""

from __future__ import annotations

import socket

from steadypos.protocol.frame import declared_length, recv_payload, split_payloads, with_length


def test_with_length_and_declared_length() -> None:
    assert with_length(b"abc") == b"\x00\x03abc"
    assert declared_length(b"\x01\x02rest") == 0x0102


def test_split_payloads_keeps_a_cut_frame_for_later() -> None:
    stream = with_length(b"one") + with_length(b"") + with_length(b"three")[:4]
    assert split_payloads(stream) == ([b"one", b""], b"\x00\x05th")
    assert split_payloads(b"\x00") == ([], b"\x00")


def test_recv_payload_reads_whole_frames_and_none_at_the_end() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(with_length(b"first") + with_length(b"second")[:3])
        assert recv_payload(b) == b"first"
        a.sendall(with_length(b"second")[3:])
        assert recv_payload(b) == b"second"
        a.sendall(with_length(b"cut")[:3])
        a.shutdown(socket.SHUT_WR)
        assert recv_payload(b) is None
