"""A DNS server on loopback that answers TXT queries from a table (DKIM keys, DMARC records).

Real DNS on the wire (UDP, dnspython's message API), so helpdeskd's resolver, timeouts and
dkimpy's lookups run as they would against a real zone; every other name is NXDOMAIN. With
`silent` it reads queries and never answers: a resolver that hangs.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class DnsStub:
    def __init__(self, records: Mapping[str, bytes], *, silent: bool = False) -> None:
        self.records = {name.lower().rstrip("."): value for name, value in records.items()}
        self.silent = silent
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve, name="dns-stub", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def start(self) -> DnsStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()

    def serve(self) -> None:
        while not self.stopped.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            answer = self.answer(data)
            if answer is not None:
                self.sock.sendto(answer, peer)

    def answer(self, data: bytes) -> bytes | None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text().lower().rstrip(".")
        self.queries.append(name)
        if self.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        value = self.records.get(name)
        if value is None or question.rdtype != dns.rdatatype.TXT:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            chunks = " ".join(f'"{value[i : i + 250].decode()}"' for i in range(0, len(value), 250))
            response.answer.append(
                dns.rrset.from_text(question.name, 60, dns.rdataclass.IN, dns.rdatatype.TXT, chunks)
            )
        return response.to_wire()
