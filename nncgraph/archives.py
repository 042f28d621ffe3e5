"""Reading the members of an .nnp (a zip archive) without trusting what it says about itself.

A zip's directory declares each member's sizes; a hostile or damaged file can
declare anything (a zip bomb: a few kilobytes that unpack to terabytes). Each
member is refused before it is read when its declared size is beyond the
limit, or when it claims to unpack to more than MAX_RATIO times its packed
size (past a floor, so tiny members of zeros stay fine), and its bytes are
counted as they come, so the limit holds whatever the header says. Nothing is
ever extracted to disk, so member names cannot traverse paths.
"""
from __future__ import annotations

import os
import zipfile
import zlib
from typing import List

from .errors import Location, UserError

MAX_MEMBER_BYTES = 4 * 2 ** 30     # a parameter file: 1e9 float32 values, beyond any network NNC trains
MAX_TEXT_BYTES = 256 * 2 ** 20     # a network definition: protobuf's text parser takes minutes beyond this
MAX_RATIO = 1000                   # deflate packs real data (weights, text) far less; a bomb far more
RATIO_FLOOR = 16 * 2 ** 20         # members smaller than this unpack to nothing harmful, whatever the ratio
CHUNK = 2 ** 20
_FIX = "give an .nnp written by nnabla, NNC or `nncgraph export`."


def _gib(n: int) -> str:
    return f"{n / 2 ** 30:,.1f} GiB" if n >= 2 ** 30 else f"{n / 2 ** 20:,.1f} MiB"


class NnpArchive:
    """An open .nnp: `names()`, `read(name)` and `text(name)`, each failure one UserError naming the
    archive (and member)."""

    def __init__(self, path: str):
        self.path = path
        if os.path.isdir(path):
            raise UserError(f"'{path}' is a directory, not an .nnp file.", fix=_FIX)
        try:
            self.zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise UserError(f"'{path}' does not exist.", fix="check the path.") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
            raise UserError(f"'{path}' is not an .nnp (zip) file.", fix=_FIX) from None
        except OSError as exc:
            raise UserError(f"cannot read '{path}': {exc.strerror or exc}.", fix="check the file and its "
                            "permissions.") from None

    def __enter__(self) -> "NnpArchive":
        return self

    def __exit__(self, *exc) -> None:
        self.zip.close()

    def names(self) -> List[str]:
        return self.zip.namelist()

    def where(self, name: str, line=None) -> Location:
        return Location(f"{self.path}:{name}", line)

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        """The member's bytes, refused before reading when its declared size or ratio is absurd, and
        while reading once more bytes come than it declared or the limit allows."""
        info = self.zip.getinfo(name)
        declared = info.file_size
        if declared > limit:
            raise UserError(f"member declares {_gib(declared)} unpacked, more than the {_gib(limit)} a member may "
                            "hold; not read.", location=self.where(name), fix=_FIX)
        if declared > RATIO_FLOOR and declared > MAX_RATIO * max(1, info.compress_size):
            raise UserError(f"member declares {_gib(declared)} unpacked from {info.compress_size:,} bytes (more "
                            f"than {MAX_RATIO}:1: a zip bomb, or a damaged directory); not read.",
                            location=self.where(name), fix=_FIX)
        parts, total = [], 0
        try:
            with self.zip.open(info) as f:
                while True:
                    part = f.read(CHUNK)
                    if not part:
                        break
                    total += len(part)
                    if total > min(limit, declared):
                        raise UserError(f"member unpacks to more than the {_gib(min(limit, declared))} it "
                                        "declares; not read further.", location=self.where(name), fix=_FIX)
                    parts.append(part)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
            raise UserError(f"member is damaged ({str(exc).rstrip('.') or type(exc).__name__}).",
                            location=self.where(name), fix=_FIX) from None
        except (NotImplementedError, RuntimeError) as exc:     # an unknown compression method, encryption
            raise UserError(f"member cannot be read: {str(exc).rstrip('.')}.", location=self.where(name),
                            fix=_FIX) from None
        return b"".join(parts)

    def text(self, name: str) -> str:
        """A text member (a network definition), which must be UTF-8."""
        data = self.read(name, MAX_TEXT_BYTES)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise UserError(f"member is not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be read.",
                            location=self.where(name, line), fix="save the network definition as UTF-8, "
                            "or " + _FIX) from None
