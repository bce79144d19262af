"""Listening sockets of a --bind address, made alike by the host, its workers and the TMS: the
family from how the address is written, and IPv6 sockets IPv6 only where a listener needs that."""

from __future__ import annotations

import socket


def family_of(bind: str) -> socket.AddressFamily:
    """IPv6 for an address written with colons (`--bind ::1`), else IPv4."""
    return socket.AF_INET6 if ":" in bind else socket.AF_INET


def tcp_socket(family: socket.AddressFamily) -> socket.socket:
    """A TCP socket of `family`; an IPv6 one is IPv6 only, as socket.create_server and asyncio's
    servers make theirs."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return sock
