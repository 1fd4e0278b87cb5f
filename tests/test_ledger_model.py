"""Event identifiers: RFC 4122 version 4 UUIDs, never repeated, not even across a fork."""

from __future__ import annotations

import os
import uuid

from stook.ledger import new_uuid


def test_new_uuids_are_version_4_and_unique() -> None:
    made = [new_uuid() for _ in range(20_000)]  # several refills of the random buffer
    assert len(set(made)) == len(made)
    for text in made[:: 997]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


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
