"""Which URLs a webhook may call: http(s) only, bounded, and (unless RELATA_WEBHOOK_ALLOW_PRIVATE=1)
only hosts whose every address is public, checked when the webhook is registered or changed and
again before each delivery (a name may resolve elsewhere later)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from app.errors import BadUserInput
from app.webhooks.models import MAX_URL

# How long one registration or delivery waits for a name to resolve.
RESOLVE_SECONDS = 3.0


class UnsafeAddress(Exception):
    """The URL's host is (or resolves to) an address a webhook may not call."""


def parse_url(raw: object, *, field: str = "url") -> str:
    """The URL as given (stripped), if it is one a webhook may use; BAD_USER_INPUT otherwise."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadUserInput(f"{field} is required", field=field)
    url = raw.strip()
    if len(url) > MAX_URL:
        raise BadUserInput(f"{field} is longer than {MAX_URL} characters", field=field)
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise BadUserInput(f"{field} must not contain spaces or control characters", field=field)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise BadUserInput(f"{field} {url!r} is not a valid URL", field=field) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise BadUserInput(f"{field} must be an http:// or https:// URL", field=field)
    if not host:
        raise BadUserInput(f"{field} {url!r} has no host", field=field)
    if parts.username is not None or parts.password is not None:
        raise BadUserInput(
            f"{field} must not carry credentials (user:password@); authenticate the request"
            " with its signature instead",
            field=field,
        )
    return url


def _refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_SECONDS
    )
    return sorted({str(info[4][0]) for info in infos})


async def check_public(url: str) -> None:
    """Raise UnsafeAddress unless every address of the URL's host is public."""
    parts = urlsplit(url)
    host = (parts.hostname or "").strip("[]")
    try:
        addresses = [host] if _is_ip(host) else await resolve(host, parts.port or 443)
    except (OSError, TimeoutError) as exc:
        raise UnsafeAddress(
            f"the host {host!r} does not resolve ({exc.__class__.__name__})"
        ) from None
    if not addresses:
        raise UnsafeAddress(f"the host {host!r} does not resolve")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if _refused(ip):
            raise UnsafeAddress(
                f"the host {host!r} is (or resolves to) {address}, a private, loopback,"
                " link-local, reserved or multicast address"
            )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def validate_url(raw: object, *, allow_private: bool, field: str = "url") -> str:
    """A URL a webhook may be registered with."""
    url = parse_url(raw, field=field)
    if not allow_private:
        try:
            await check_public(url)
        except UnsafeAddress as exc:
            raise BadUserInput(
                f"{field} is refused: {exc}; webhooks call public addresses only"
                " (RELATA_WEBHOOK_ALLOW_PRIVATE=1 allows others, for development)",
                field=field,
            ) from None
    return url
