"""Event identifiers: RFC 9562 version 7 UUIDs (time first, so the ledger's unique index grows
at its end), never repeated, not even across a fork."""

from __future__ import annotations

import os
import re
import time
import uuid
from datetime import datetime, timezone

from stook.ledger import new_uuid, utc_now


def test_new_uuids_are_version_7_time_ordered_and_unique() -> None:
    before = time.time_ns() // 1_000_000
    made = [new_uuid() for _ in range(20_000)]  # several refills of the random buffer
    after = time.time_ns() // 1_000_000
    assert len(set(made)) == len(made)
    for text in made[:: 997]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    millis = [uuid.UUID(text).int >> 80 for text in made]  # the 48-bit Unix time in milliseconds
    assert before <= millis[0] and millis[-1] <= after
    assert millis == sorted(millis)
    # the 12 bits after the version are the sub-millisecond time: within one millisecond too,
    # later identifiers never sort before earlier ones by their time fields
    stamps = [(uuid.UUID(text).int >> 64) & ~(0xF << 12) for text in made]
    assert stamps == sorted(stamps)
    # 62 random bits each: no two share them
    assert len({uuid.UUID(text).int & ((1 << 62) - 1) for text in made}) == len(made)


def test_a_forked_worker_never_repeats_the_parents_uuids() -> None:
    new_uuid()  # the parent holds unused random bytes now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        os.write(write, "".join(new_uuid() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    child = b""
    while chunk := os.read(read, 4096):
        child += chunk
    os.waitpid(pid, 0)
    theirs = {child[i:i + 36].decode() for i in range(0, len(child), 36)}
    ours = {new_uuid() for _ in range(10)}
    assert len(theirs) == 10 and not theirs & ours


def test_timestamps_are_utc_to_the_microsecond_and_never_go_back() -> None:
    stamps = []
    before = datetime.now(timezone.utc)
    deadline = time.monotonic() + 1.2  # across at least one change of second
    while time.monotonic() < deadline:
        stamps.extend(utc_now() for _ in range(20))
        time.sleep(0.002)
    after = datetime.now(timezone.utc)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", s) for s in stamps)
    parsed = [datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc) for s in stamps]
    assert before <= parsed[0] and parsed[-1] <= after
    assert parsed == sorted(parsed)  # as text too: the ledger compares them as strings
    assert stamps == sorted(stamps)
    assert len({s[:19] for s in stamps}) >= 2


def test_a_timestamp_reads_as_the_same_instant_as_datetime_writes_it() -> None:
    for _ in range(1000):
        ns = time.time_ns()
        stamp = utc_now()
        later = time.time_ns()
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        micros = int(moment.timestamp()) * 1_000_000 + moment.microsecond
        assert ns // 1000 <= micros <= later // 1000
