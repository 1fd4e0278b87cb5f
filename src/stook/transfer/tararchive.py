"""Reading a tar or gzipped tar entry by entry into a :class:`~stook.transfer.sink.Sink`.

The archive is read as a stream, once; a damaged or missing header is damage, never
taken for the end of the archive; compressed bytes are counted as they are read, so
the expansion ratio of each entry is known while it is written.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from stook.transfer.sink import Sink, StopExtraction, show_name

KiB = 1024
TRAILER_LIMIT = 1024 * 1024  # bytes read after a tar's end marker to check the stream ends well
# Compressed bytes read ahead by the decompressor (8 KiB up to Python 3.11, 128 KiB since)
# and tar's record buffer, counted to the entry being written: an entry whose data was
# already read ahead for the one before still has its fair share.
STREAM_SLACK = getattr(gzip, "READ_BUFFER_SIZE", io.DEFAULT_BUFFER_SIZE) + 2 * tarfile.RECORDSIZE


class _TarDamage(Exception):
    """A tar header that is short, missing or corrupt after the first one."""


_EOF_HEADER: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]


class _StrictTarInfo(tarfile.TarInfo):
    """TarInfo that does not take a damaged or missing header for the end of the archive.

    ``tarfile`` quietly ends iteration at a corrupt or short header; a receiver must
    know the difference between "no more entries" and "the rest is lost".
    """

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> _StrictTarInfo:
        if len(buf) == 0:
            raise _TarDamage("the archive ends without the tar end-of-archive marker: it is truncated")
        if len(buf) != tarfile.BLOCKSIZE:
            raise _TarDamage("the archive ends inside an entry header: it is truncated")
        try:
            return super().frombuf(buf, encoding, errors)
        except _EOF_HEADER:
            raise
        except tarfile.HeaderError as exc:
            raise _TarDamage(f"damaged tar entry header ({exc}): the archive is corrupt") from exc


class _Counting:
    """The archive file, counting the bytes read from it (compressed bytes, for a tar.gz)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.count += len(data)
        return data


@contextmanager
def _open_tar(source: Path, gz: bool) -> Iterator[tuple[tarfile.TarFile, Any, _Counting]]:
    with open(source, "rb") as raw:
        counter = _Counting(raw)
        stream: Any = gzip.GzipFile(fileobj=cast(IO[bytes], counter), mode="rb") if gz else counter
        try:
            with tarfile.open(fileobj=stream, mode="r|", tarinfo=_StrictTarInfo,
                              encoding="utf-8", errors="surrogateescape") as tar:
                yield tar, stream, counter
        finally:
            if gz:
                stream.close()


def extract_tar(source: Path, sink: Sink, *, gz: bool) -> None:
    kind = "gzipped tar" if gz else "tar"
    try:
        with _open_tar(source, gz) as (tar, stream, counter):
            for member in tar:
                _tar_member(tar, member, sink, counter)
            _check_tar_end(tar, stream, sink, source)
    except StopExtraction:
        raise
    except _TarDamage as exc:
        sink.error(source.name, str(exc))
    except (tarfile.ReadError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        sink.error(source.name, f"cannot be read as a {kind} file: {truncation(exc)}")
    except tarfile.TarError as exc:
        sink.error(source.name, f"cannot be read as a {kind} file: {exc}")


def truncation(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "unexpected end" in lowered or "ended before" in lowered or isinstance(exc, EOFError):
        return f"{text}: the archive is truncated"
    return text


def _tar_member(tar: tarfile.TarFile, member: tarfile.TarInfo, sink: Sink, counter: _Counting) -> None:
    raw = member.name
    sink.scan(raw, member.size)
    if member.isdir():
        sink.add_dir(raw)
    elif member.isreg():
        reader = tar.extractfile(member)
        assert reader is not None
        start = counter.count

        def compressed() -> int:
            return counter.count - start + STREAM_SLACK

        with reader:
            sink.add_file(raw, reader, member.size, compressed)
    elif member.issym():
        sink.refuse(raw, f"symbolic link to {show_name(member.linkname)}")
    elif member.islnk():
        sink.refuse(raw, f"hard link to {show_name(member.linkname)}")
    elif member.ischr() or member.isblk():
        sink.refuse(raw, "device file")
    elif member.isfifo():
        sink.refuse(raw, "FIFO (named pipe)")
    else:
        sink.refuse(raw, f"tar entry of type {member.type!r}")


def _check_tar_end(tar: tarfile.TarFile, stream: Any, sink: Sink, source: Path) -> None:
    """After the first zero block: a second one, then (for gzip) a stream that ends cleanly."""
    fileobj: Any = tar.fileobj
    second = fileobj.read(tarfile.BLOCKSIZE)
    if len(second) < tarfile.BLOCKSIZE:
        sink.error(source.name, "the tar end-of-archive marker is incomplete: the archive is truncated")
        return
    trailer_nonzero = second.count(0) != len(second)
    seen = len(second)
    while True:
        chunk = fileobj.read(64 * KiB)
        if not chunk:
            break
        seen += len(chunk)
        trailer_nonzero = trailer_nonzero or chunk.count(0) != len(chunk)
        if seen > TRAILER_LIMIT:
            sink.warn(source.name, "more than 1 MiB after the end-of-archive marker; ignored")
            return
    if trailer_nonzero:
        sink.warn(source.name, "data after the end-of-archive marker; ignored")




def declared_tar_size(source: Path, *, gz: bool) -> int:
    """What a tar promises to expand to: its size, or for gzip the larger of the compressed
    size and the stream's recorded length (ISIZE, the length modulo 4 GiB)."""
    size = source.stat().st_size
    if not gz or size < 18:
        return size
    with open(source, "rb") as handle:
        handle.seek(size - 4)
        isize = int.from_bytes(handle.read(4), "little")
    return max(size, isize)
