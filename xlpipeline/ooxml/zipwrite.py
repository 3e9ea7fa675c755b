"""A zip writer that copies unchanged members of another zip without recompressing them.

Python's zipfile can only copy a member by inflating and deflating it again, which for a large
扣分台账 sheet costs more than scoring it. Here an unchanged member's compressed bytes are copied
as they are (so the part stays byte-identical), and only the patched parts are deflated anew.
No ZIP64: an .xlsx whose parts pass 4 GiB is refused.
"""
from __future__ import annotations

import struct
import zipfile
import zlib
from typing import BinaryIO

from xlpipeline.errors import FileProblem

LOCAL = struct.Struct("<4sHHHHHLLLHH")
CENTRAL = struct.Struct("<4sBBHHHHHLLLHHHHHLL")
END = struct.Struct("<4sHHHHLLH")
LIMIT = 0xFFFFFFFF
DATA_DESCRIPTOR = 0x08
UTF8_NAME = 0x800
CHUNK = 1 << 20


class PackageWriter:
    def __init__(self, out: BinaryIO):
        self.out = out
        self.central: list[bytes] = []
        self.offset = 0

    def copy(self, source: BinaryIO, info: zipfile.ZipInfo) -> None:
        """Copy `info`'s member of the zip open as `source`, compressed bytes unchanged."""
        source.seek(info.header_offset)
        header = source.read(LOCAL.size)
        if len(header) != LOCAL.size or header[:4] != b"PK\x03\x04":
            raise FileProblem(f"{info.filename}: 压缩包损坏（本地文件头无效）")
        *_, name_length, extra_length = LOCAL.unpack(header)
        source.seek(info.header_offset + LOCAL.size + name_length + extra_length)
        self._header(info, info.compress_type, info.CRC, info.compress_size, info.file_size)
        remaining = info.compress_size
        while remaining:
            chunk = source.read(min(CHUNK, remaining))
            if not chunk:
                raise FileProblem(f"{info.filename}: 压缩包损坏（数据不完整）")
            self.out.write(chunk)
            remaining -= len(chunk)
        self.offset += info.compress_size

    def add(self, info: zipfile.ZipInfo, data: bytes) -> None:
        """Write `data` under `info`'s name, deflated (or stored, as the original was)."""
        method = zipfile.ZIP_STORED if info.compress_type == zipfile.ZIP_STORED else zipfile.ZIP_DEFLATED
        if method == zipfile.ZIP_DEFLATED:
            deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = deflate.compress(data) + deflate.flush()
        else:
            payload = data
        self._header(info, method, zlib.crc32(data), len(payload), len(data))
        self.out.write(payload)
        self.offset += len(payload)

    def close(self) -> None:
        start = self.offset
        for record in self.central:
            self.out.write(record)
        size = sum(map(len, self.central))
        if len(self.central) > 0xFFFF or start + size > LIMIT:
            raise FileProblem("工作簿过大（超过 zip 格式的 4 GiB 或 65535 个部件）")
        self.out.write(END.pack(b"PK\x05\x06", 0, 0, len(self.central), len(self.central), size, start, 0))

    def _header(self, info: zipfile.ZipInfo, method: int, crc: int, compressed: int, size: int) -> None:
        if max(compressed, size, self.offset) >= LIMIT:
            raise FileProblem(f"{info.filename}: 部件过大（超过 4 GiB）")
        name = info.filename.encode("utf-8" if info.flag_bits & UTF8_NAME else "cp437")
        flags = info.flag_bits & ~DATA_DESCRIPTOR  # sizes are known up front here
        year, month, day, hour, minute, second = info.date_time
        dos_time = hour << 11 | minute << 5 | second // 2
        dos_date = max(year - 1980, 0) << 9 | month << 5 | day
        self.out.write(LOCAL.pack(b"PK\x03\x04", info.extract_version, flags, method, dos_time, dos_date,
                                  crc, compressed, size, len(name), 0) + name)
        self.central.append(CENTRAL.pack(
            b"PK\x01\x02", info.create_version, info.create_system, info.extract_version, flags, method,
            dos_time, dos_date, crc, compressed, size, len(name), 0, 0, 0, info.internal_attr,
            info.external_attr, self.offset) + name)
        self.offset += LOCAL.size + len(name)


def rewrite_package(source: BinaryIO, package: zipfile.ZipFile, out: BinaryIO, changed: dict[str, bytes],
                    added: dict[str, bytes] | None = None) -> None:
    """Copy `package` (a zip open on `source`) to `out`: the parts named in `changed` get their new
    bytes, every other part is copied as it is, and `added` parts come last."""
    writer = PackageWriter(out)
    infos = package.infolist()
    for info in infos:
        if info.filename in changed:
            writer.add(info, changed[info.filename])
        else:
            writer.copy(source, info)
    stamp = infos[0].date_time if infos else (1980, 1, 1, 0, 0, 0)
    for name, data in (added or {}).items():
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        writer.add(info, data)
    writer.close()
