"""Content-addressed file storage for attachments under ``<data dir>/media``.

A stored file is named by the SHA-256 of its bytes: originals at ``ab/cd/<sha256>.<ext>``,
thumbnails at ``thumbs/ab/cd/<sha256>.jpg`` (named after their original). Equal content is stored
once, whoever uploads it and however often. A file is written to a temporary name beside its
target and renamed into place, so a reader never sees half a file, and writing a name that exists
does nothing. Files are readable by the service's own account only. Names are the whole
interface (``put``, ``open``, ``path``), so an S3-compatible object store with the same names can
take this class's place.

Files are written before the database row that names them is committed; a rolled-back upload
leaves an unreferenced file behind, which costs disk space but never shows.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

from wenming.core.config import Settings

MEDIA_DIR = "media"
THUMBS_DIR = "thumbs"
THUMB_EXTENSION = "jpg"
_NAME = re.compile(r"^(thumbs/)?([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})\.(jpg|png|webp)$")


def original_name(sha256: str, extension: str) -> str:
    """The storage name of an original: ``ab/cd/<sha256>.<ext>``."""
    return check_name(f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}")


def thumb_name(sha256: str) -> str:
    """The storage name of the thumbnail of the original with this SHA-256."""
    return check_name(f"{THUMBS_DIR}/{sha256[:2]}/{sha256[2:4]}/{sha256}.{THUMB_EXTENSION}")


def check_name(name: str) -> str:
    """The name itself when it is a well-formed storage name; ValueError otherwise.

    Only names made by ``original_name`` and ``thumb_name`` pass, so no name can reach outside
    the media directory.
    """
    found = _NAME.match(name)
    if found is None or not found.group(4).startswith(found.group(2) + found.group(3)):
        raise ValueError(f"not a media storage name: {name!r}")
    return name


class MediaStore:
    """Files by name in a local directory: atomic, idempotent writes of immutable content."""

    def __init__(self, root: Path) -> None:
        """A store rooted at ``root`` (created on the first write)."""
        self.root = root

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaStore:
        """The store of a deployment: ``media/`` inside the data directory."""
        return cls(settings.data_dir / MEDIA_DIR)

    def path(self, name: str) -> Path:
        """Where a stored name lives on disk."""
        return self.root / check_name(name)

    def put(self, name: str, data: bytes) -> bool:
        """Store bytes under a name; False when the name was already stored (nothing written).

        Content-addressed names never change content, so an existing file is left as it is.
        Blocking: call it off the event loop.
        """
        target = self.path(name)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True

    def open(self, name: str) -> BinaryIO:
        """The stored file for reading (FileNotFoundError when missing). Blocking."""
        return self.path(name).open("rb")

    def read(self, name: str) -> bytes:
        """All bytes of a stored file. Blocking: call it off the event loop."""
        with self.open(name) as stored:
            return stored.read()
