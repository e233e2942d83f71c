"""Copy one face out of a font collection (.ttc), or a font file, into a standalone font file,
table by table, leaving out the tables named.

Usage: extract-font.py SOURCE INDEX OUT [DROP]: INDEX is the face in a collection or ``-`` for a
plain font; DROP a comma-separated list of table tags to leave out. LXGW WenKai loses its
GSUB/GDEF/BASE this way: HarfBuzz 6.0 (Debian 12) cannot subset it for a PDF with them once a
document sets a few thousand of its characters (its GSUB closure gives up), and horizontal
Chinese text needs none of them. Standard library only (it runs before the project's
virtualenv exists). Tables are copied as they are, in tag order, each padded to 4 bytes; only
``head.checkSumAdjustment`` is recomputed. The same collection gives the same bytes, checked by
the SHA-256 in fonts/catalogue.toml.
"""

import struct
import sys


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def extract(collection: bytes, index: int | None, drop: frozenset[bytes] = frozenset()) -> bytes:
    start = 0
    if index is not None:
        tag, _version, count = struct.unpack_from(">4sII", collection, 0)
        if tag != b"ttcf" or not 0 <= index < count:
            raise SystemExit(f"not a font collection with a face {index}")
        (start,) = struct.unpack_from(">I", collection, 12 + 4 * index)
    flavor, num_tables = struct.unpack_from(">IH", collection, start)
    records = [
        struct.unpack_from(">4sIII", collection, start + 12 + 16 * i) for i in range(num_tables)
    ]
    records = sorted(r for r in records if r[0] not in drop)
    num_tables = len(records)
    tables = {t: collection[offset : offset + length] for t, _, offset, length in records}
    sums = {t: checksum for t, checksum, _, _ in records}
    if b"head" in tables:
        head = bytearray(tables[b"head"])
        head[8:12] = bytes(4)
        tables[b"head"] = bytes(head)
    power = 1 << (num_tables.bit_length() - 1)
    header = struct.pack(
        ">IHHHH",
        flavor,
        num_tables,
        power * 16,
        power.bit_length() - 1,
        num_tables * 16 - power * 16,
    )
    offset = 12 + 16 * num_tables
    directory, body, placed = b"", b"", {}
    for t, data in tables.items():
        placed[t] = offset + len(body)
        directory += struct.pack(">4sIII", t, sums[t], placed[t], len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = bytearray(header + directory + body)
    if b"head" in placed:
        adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
        font[placed[b"head"] + 8 : placed[b"head"] + 12] = struct.pack(">I", adjustment)
    return bytes(font)


def main(source: str, index: str, out: str, drop: str = "") -> None:
    tags = frozenset(t.encode("latin-1").ljust(4) for t in drop.split(",") if t)
    with open(source, "rb") as fh:
        data = extract(fh.read(), None if index == "-" else int(index), tags)
    with open(out, "wb") as fh:
        fh.write(data)


if __name__ == "__main__":
    main(*sys.argv[1:])
