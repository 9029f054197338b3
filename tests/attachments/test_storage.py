"""Content-addressed media files: where they go, written whole or not at all, and only once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from wenming.attachments.storage import MediaStore, check_name, original_name, thumb_name
from wenming.core.config import Environment, Settings

DATA = b"stored bytes"
SHA = hashlib.sha256(DATA).hexdigest()


def files_under(root: Path) -> list[str]:
    """Every file below a directory, as sorted relative paths."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_names_spread_files_over_two_directory_levels() -> None:
    assert original_name(SHA, "jpg") == f"{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg"
    assert thumb_name(SHA) == f"thumbs/{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg"


@pytest.mark.parametrize(
    "name",
    [
        f"../{SHA[:2]}/{SHA}.jpg",
        f"{SHA[:2]}/{SHA[2:4]}/{SHA}.html",
        f"{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg/../../x",
        f"00/00/{SHA}.jpg",
        f"/{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg",
        f"{SHA[:2]}/{SHA[2:4]}/{SHA.upper()}.jpg",
    ],
)
def test_only_well_formed_names_are_storage_names(name: str) -> None:
    with pytest.raises(ValueError, match="not a media storage name"):
        check_name(name)


def test_the_store_lives_in_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(env=Environment.TEST, data_dir=tmp_path / "data")
    assert MediaStore.from_settings(settings).root == tmp_path / "data" / "media"


def test_put_writes_once_and_reads_back(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    name = original_name(SHA, "png")
    assert store.put(name, DATA) is True
    assert store.path(name) == tmp_path / "media" / SHA[:2] / SHA[2:4] / f"{SHA}.png"
    assert store.read(name) == DATA
    with store.open(name) as stored:
        assert stored.read() == DATA
    assert store.put(name, DATA) is False
    assert files_under(tmp_path / "media") == [f"{SHA[:2]}/{SHA[2:4]}/{SHA}.png"]


def test_an_existing_file_is_left_untouched(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    name = thumb_name(SHA)
    store.put(name, DATA)
    before = store.path(name).stat().st_mtime_ns
    os.utime(store.path(name), ns=(before - 10**9, before - 10**9))
    assert store.put(name, DATA) is False
    assert store.path(name).stat().st_mtime_ns == before - 10**9


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MediaStore(tmp_path / "media")
    name = original_name(SHA, "jpg")

    def refuse(_source: str, _target: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        store.put(name, DATA)
    assert not store.path(name).exists()
    assert files_under(tmp_path / "media") == []


def test_reading_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        MediaStore(tmp_path / "media").read(original_name(SHA, "jpg"))
