"""Data cuts: everything known at a cut-off date, frozen under a name with SHA-256 digests.

A cut keeps the very bytes of its datasets, Define-XML, analyses and figures, made once when it
is frozen; asking for them again returns those bytes, whatever was recorded later and whatever
the code became. Its digest is the SHA-256 of its manifest: one "<sha256>  <path>" line per file,
sorted by path (the format of `sha256sum`), so anyone can check a delivered cut with that tool.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class CutFile:
    path: str
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class DataCut:
    name: str
    cutoff: dt.date
    created_at: dt.datetime
    created_by: str
    reason: str
    digest: str
    files: Mapping[str, str] = field(default_factory=dict)  # path -> SHA-256


def valid_name(name: str) -> bool:
    """Letters, digits, '.', '_' and '-', starting with a letter or digit, 64 at most: a name
    that is safe in a URL path and a file name ("DMC-2027-03", "final.v1")."""
    return bool(_NAME.match(name))


def manifest(files: Mapping[str, str]) -> str:
    """The `sha256sum` manifest of files given as path -> SHA-256, sorted by path."""
    return "".join(f"{files[path]}  {path}\n" for path in sorted(files))


def digest(files: Mapping[str, str]) -> str:
    return hashlib.sha256(manifest(files).encode()).hexdigest()
