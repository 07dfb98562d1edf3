"""Addresses: which ones mean loopback, which ones mean every interface."""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK = "127.0.0.1"
EVERY_INTERFACE = ("0.0.0.0", "", "*", "::")  # addresses that mean "listen on every interface"


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def listen_problem(address: str, port: int) -> str | None:
    """Why a server could not listen on address:port now (in use, not an address of this host), or None.

    Bound the way gevent's servers bind (SO_REUSEADDR), so a port a finished run left in TIME_WAIT
    counts as free, and released at once.
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((address, port))
            probe.listen()
    except OSError as exc:  # socket.gaierror included: a name that does not resolve
        return (exc.strerror or str(exc)).lower()
    return None
