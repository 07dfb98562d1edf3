"""Addresses: which ones mean loopback, which ones mean every interface."""

from __future__ import annotations

import ipaddress

LOOPBACK = "127.0.0.1"
EVERY_INTERFACE = ("0.0.0.0", "", "*", "::")  # addresses that mean "listen on every interface"


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
