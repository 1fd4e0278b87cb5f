"""Reading a zip into a :class:`~stook.transfer.sink.Sink`, names checked byte by byte first.

``zipfile`` decodes entry names as it opens the archive: bytes flagged UTF-8
(general purpose bit 11) that are not UTF-8 make it fail, and UTF-8 names without
the flag come out as cp437 mojibake that matches no manifest line. The central
directory is therefore read here first, raw, and such names are reported as what
they are: a name-encoding problem, with the entry's index and bytes.
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path

from stook.transfer.sink import Sink, StopExtraction, show_name, special_kind
from stook.transfer.tararchive import truncation


def extract_zip(source: Path, sink: Sink) -> None:
    names = _central_names(source, sink.limits.max_files)
    if names is not None and _name_problems(source, names, sink):
        raise StopExtraction
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        sink.error(source.name, f"cannot be read as a zip file ({exc}): its central directory is "
                                "missing or damaged, so the file is truncated or not a zip")
        return
    except UnicodeDecodeError as exc:  # a name flagged UTF-8 that is not, missed by the scan above
        sink.error(source.name, f"name-encoding problem: an entry name flagged as UTF-8 is not valid "
                                f"UTF-8 ({exc.reason}); ask the sender to re-create the zip with UTF-8 "
                                "names, or to send a tar")
        return
    with archive:
        infos = archive.infolist()
        if len(infos) > sink.limits.max_files:
            sink.error(source.name, f"lists {len(infos)} entries: over the cap on entries (max_files) "
                                    f"of {sink.limits.max_files}; nothing was added", option="max_files")
            raise StopExtraction
        declared = sum(i.file_size for i in infos)
        if declared > sink.limits.max_bytes:
            sink.error(source.name, f"declares {declared} bytes: over the cap on bytes (max_bytes) "
                                    f"of {sink.limits.max_bytes}; nothing was added", option="max_bytes")
            raise StopExtraction
        for info in infos:  # what the archive declares, judged before anything is written
            if not info.is_dir():
                cost = min(info.compress_size, sink.archive_size or info.compress_size)
                sink.check_ratio(info.filename, info.file_size, cost, 0, "declared")
        sink.check_ratio(source.name, 0, None, declared, "declared")
        sink.declare(source.name, declared)
        for info in infos:
            _zip_member(archive, info, sink)


_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_UTF8_FLAG = 0x800  # general purpose bit 11: the name and comment are UTF-8


def _central_names(source: Path, max_files: int) -> list[tuple[bytes, int]] | None:
    """Each entry's raw name bytes and flag bits, from the zip's central directory.

    ``zipfile`` decodes names as it reads them (and fails on a name flagged UTF-8 that
    is not), so the raw bytes are read here first. None when the directory cannot be
    found or is too large: ``zipfile`` then reports the damage or the cap.
    """
    with open(source, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        tail_size = min(size, 22 + 65535)
        handle.seek(size - tail_size)
        tail = handle.read(tail_size)
        at = tail.rfind(_EOCD)
        if at < 0 or len(tail) - at < 22:
            return None
        count, cd_size, cd_offset = struct.unpack("<10xHLL", tail[at:at + 20])
        eocd_pos = size - tail_size + at  # the directory ends where its end record begins
        if count == 0xFFFF or 0xFFFFFFFF in (cd_size, cd_offset):  # a zip64 archive
            if at < 20 or tail[at - 20:at - 16] != _EOCD64_LOCATOR or eocd_pos < 76:
                return None
            eocd_pos -= 20 + 56  # the zip64 end record (56 bytes) precedes its locator
            handle.seek(eocd_pos)
            record = handle.read(56)
            if record[:4] != _EOCD64:
                return None
            count, cd_size, cd_offset = struct.unpack("<QQQ", record[32:56])
        if count > max_files or cd_size > size:
            return None
        start = max(0, eocd_pos - cd_size)  # where it is, even with data prepended to the zip
        handle.seek(start)
        directory = handle.read(cd_size)
    names: list[tuple[bytes, int]] = []
    pos = 0
    while pos + 46 <= len(directory) and directory[pos:pos + 4] == _CENTRAL:
        flags = struct.unpack("<H", directory[pos + 8:pos + 10])[0]
        name_len, extra_len, comment_len = struct.unpack("<HHH", directory[pos + 28:pos + 34])
        names.append((directory[pos + 46:pos + 46 + name_len], flags))
        pos += 46 + name_len + extra_len + comment_len
    return names


def _escaped(raw: bytes) -> str:
    """Raw name bytes as printable ASCII, every other byte as \\xNN."""
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}" for b in raw)


def _name_problems(source: Path, names: list[tuple[bytes, int]], sink: Sink) -> bool:
    """Report names whose bytes contradict their encoding flag; True when any is an error."""
    bad = False
    for index, (raw, flags) in enumerate(names):
        if raw.isascii():
            continue
        where = f"{source.name} entry #{index}"
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if flags & _UTF8_FLAG:
                bad = True
                sink.error(where, (
                    f"name-encoding problem: the name bytes b'{_escaped(raw)}' are flagged as UTF-8 "
                    f"(zip general purpose bit 11) but are not UTF-8 (byte 0x{raw[exc.start]:02x} at "
                    f"offset {exc.start}); the zip was made with a wrong name encoding: ask the sender "
                    "to re-create it with UTF-8 names, or to send a tar"))
            else:
                sink.warn(where, f"name bytes b'{_escaped(raw)}' are not flagged as UTF-8; read as "
                                 f"cp437 (the zip default): {show_name(raw.decode('cp437'))}")
            continue
        if not flags & _UTF8_FLAG:
            bad = True
            sink.error(where, (
                f"name-encoding problem: the name bytes b'{_escaped(raw)}' are UTF-8 "
                f"({show_name(decoded)}) but the zip does not flag them as UTF-8 (general purpose bit 11), "
                f"so zip readers take them as cp437 ({show_name(raw.decode('cp437'))}) and the names "
                "would not match the bag's manifests; ask the sender to re-create the zip with the "
                "UTF-8 flag set (Python's zipfile, 7-Zip and Info-ZIP zip 3 do), or to send a tar"))
    return bad


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, sink: Sink) -> None:
    raw = info.filename
    mode = (info.external_attr >> 16) & 0xFFFF if info.create_system == 3 else 0
    file_type = stat.S_IFMT(mode)
    if file_type == stat.S_IFLNK:
        sink.refuse(raw, "symbolic link")
        return
    if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
        sink.refuse(raw, special_kind(mode))
        return
    if info.flag_bits & 0x1:
        sink.error(raw, "encrypted entry: refused (cannot be verified)")
        return
    if info.is_dir() or file_type == stat.S_IFDIR:
        sink.add_dir(raw if raw.endswith("/") else raw + "/")
        return
    cost = min(info.compress_size, sink.archive_size or info.compress_size)
    try:
        with archive.open(info) as reader:
            sink.add_file(raw, reader, info.file_size, lambda: cost)
    except StopExtraction:
        raise
    except zipfile.BadZipFile as exc:
        sink.error(raw, f"damaged zip entry: {exc}")
    except NotImplementedError as exc:
        sink.error(raw, f"cannot be extracted: {exc}")
    except (EOFError, zlib.error) as exc:
        sink.error(raw, f"damaged zip entry: {truncation(exc)}")
