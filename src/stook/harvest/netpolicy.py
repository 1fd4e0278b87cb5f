"""What stook accepts from the network while harvesting: schemes, redirects, sizes, addresses.

A provider decides what its answers say, where its redirects point and what its records
link to, so each of these is bounded here: only http(s) URLs are followed, a redirect
chain is at most :data:`MAX_REDIRECTS` hops long and never revisits a URL, a response is
read to at most ``max_response_bytes`` once decoded, and the files a record links to
(``fetch_files``) are fetched only from public addresses. That last rule keeps a harvest
from becoming a proxy into the network it runs in: a link to ``localhost``, a cloud
metadata service (169.254.169.254) or an intranet host is refused, whatever name it is
given, because the check is made on the addresses the name resolves to, and the
connection then goes to the very address that was checked (no second lookup a hostile
DNS server could answer differently).

Standard library only: the CLI imports the defaults from here at start-up.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from stook.errors import HarvestError

DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024
MAX_REDIRECTS = 10
HTTP_SCHEMES = ("http", "https")
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

# IPv6 prefixes that carry an IPv4 address a gateway would reach (NAT64, RFC 6052).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public one, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            inner = refusal(embedded)
            if inner is not None:
                return f"{inner} (embedded in {address})"
    for flag, what in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    ):
        if getattr(address, flag):
            return what
    if not address.is_global:
        return "not a public address"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection, in the system's order."""
    found: list[str] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


@dataclass(frozen=True)
class AddressPolicy:
    """Which hosts ``fetch_files`` may connect to.

    ``allow_private`` lifts the rule (a harvest inside an intranet, tests on loopback);
    ``permitted`` lets a few named addresses through while every other private one
    stays refused. ``resolver`` is the DNS lookup (replaceable, as DNS is outside the
    machine).
    """

    allow_private: bool = False
    permitted: frozenset[str] = frozenset()
    resolver: Resolver = system_resolver

    def connect_address(self, url: str, host: str, port: int) -> str:
        """The address to connect to for ``host``: every address it resolves to must pass.

        Raises :class:`HarvestError` naming the host and the address when one does not.
        """
        try:
            literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = list(self.resolver(host, port))
            except (OSError, UnicodeError) as exc:
                raise HarvestError(f"{url}: the host {host!r} cannot be resolved ({exc})", url=url) from exc
            if not addresses:
                raise HarvestError(f"{url}: the host {host!r} resolves to no address", url=url)
        if not self.allow_private:
            for text in addresses:
                address = ipaddress.ip_address(text.split("%", 1)[0])
                reason = None if str(address) in self.permitted else refusal(address)
                if reason is not None:
                    where = host if literal is not None else f"{host} resolves to {address}, which"
                    raise HarvestError(
                        f"{url}: {where} is {reason}",
                        url=url,
                        hint="files are fetched only from public addresses; allow_private_hosts "
                        "lifts this for a harvest inside a trusted network",
                    )
        return addresses[0]


def check_http_url(url: str, *, what: str = "URL") -> None:
    """Refuse anything but an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError as exc:
        raise HarvestError(f"{url!r}: not a usable {what} ({exc})", url=url) from exc
    if parts.scheme.lower() not in HTTP_SCHEMES:
        raise HarvestError(
            f"{url!r}: not an http(s) {what}; stook fetches and follows only http and https URLs",
            url=url,
        )
    if not parts.hostname or not port_ok:
        raise HarvestError(f"{url!r}: not a usable {what} (no host, or a bad port)", url=url)


def next_hop(chain: Sequence[str], location: str | None, *, max_redirects: int = MAX_REDIRECTS) -> str:
    """Where a redirect from ``chain[-1]`` leads, or :class:`HarvestError` if stook may not go.

    ``chain`` is every URL requested so far, the first one first. A redirect must name
    an http(s) URL (relative ones are resolved), must not lead back to a URL of the
    chain, and the chain stays at most ``max_redirects`` redirects long.
    """
    start = chain[0]
    if not location or not location.strip():
        raise HarvestError(f"{chain[-1]}: a redirect without a Location header", url=start)
    try:
        target = urljoin(chain[-1], location.strip())
        scheme = urlsplit(target).scheme.lower()
    except ValueError as exc:
        raise HarvestError(f"{start}: redirected to {location!r}, not a usable redirect target ({exc})",
                           url=start) from exc
    hops = [*chain, target]
    shown = " -> ".join(hops if len(hops) <= 4 else [*hops[:2], "...", hops[-1]])
    if scheme not in HTTP_SCHEMES:
        raise HarvestError(
            f"{start}: redirected to {target!r}, which is not an http(s) URL; stook follows "
            "redirects only to http and https URLs",
            url=start,
            hint="the provider's redirect points outside the web; report it to the provider",
        )
    if target in chain:
        raise HarvestError(f"{start}: a redirect loop ({shown})", url=start,
                           hint="the provider redirects in a circle; report it to the provider")
    if len(chain) > max_redirects:
        raise HarvestError(
            f"{start}: more than {max_redirects} redirects ({shown}); stook stopped following them",
            url=start,
            hint="report the redirect chain to the provider",
        )
    check_http_url(target, what="redirect target")
    return target
