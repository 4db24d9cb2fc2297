"""Download real Galaxy Zoo data (GZ DECaLS DR5, the demo ring set) in galaxy-datasets' layout.

A dataset is a few files on a web server: catalogs (parquet) and one image archive that
unpacks to ``images/``. :func:`fetch_dataset` downloads them into ``root`` (default
``cache_dir()/<name>``), checks each against its MD5 with pooch, unpacks the archive safely
and marks the folder complete only at the very end. Interrupted downloads resume from a
``<file>.part`` (HTTP Range) on the next call; a file only ever gets its final name after its
checksum passes, so nothing half-written is ever taken for finished. A folder already
downloaded with galaxy-datasets is recognised and used as it is.

URLs and checksums are those galaxy-datasets (github.com/mwalmsley/galaxy-datasets,
``galaxy_datasets/shared/gz_decals_5.py`` and ``demo_rings.py``) publishes. Add your own
with :func:`register_dataset` (tests use it to point at a local server).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import time
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from .config import cache_dir

__all__ = [
    "RemoteFile",
    "DatasetSpec",
    "FetchedDataset",
    "DownloadError",
    "ChecksumError",
    "ArchiveError",
    "DATASETS",
    "register_dataset",
    "get_dataset_spec",
    "fetch_dataset",
    "download_file",
    "extract_archive",
]

RETRY_WAIT_S = 2.0
"""Seconds before the first retry of a broken download; doubles each retry (at most 30 s)."""

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.xz", ".tar.bz2", ".zip")
_COMPLETE = ".galzoo-complete.json"


class DownloadError(OSError):
    """A download failed; the message says which URL, why, and what to do."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the expected MD5 (it was deleted)."""


class ArchiveError(DownloadError):
    """An archive is unsafe (paths leaving the folder, links, devices) or unreadable."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: where it is, its MD5, and whether it is an archive to unpack."""

    url: str
    md5: str | None
    filename: str | None = None
    extract: bool | None = None

    @property
    def name(self) -> str:
        return self.filename or PurePosixPath(urlparse(self.url).path).name

    @property
    def is_archive(self) -> bool:
        return self.extract if self.extract is not None else self.name.endswith(_ARCHIVE_SUFFIXES)


@dataclass(frozen=True)
class DatasetSpec:
    """A downloadable dataset: its files, which of them are catalogs, and what the labels are.

    ``catalogs`` maps a split (``"train"``, ``"test"``) to a catalog file name; ``schema``
    names the vote schema (``"decals_dr5"``) or is None for other labels (``label_cols``);
    ``spotcheck`` lists image paths (relative to the root) that a complete copy must have.
    """

    name: str
    files: tuple[RemoteFile, ...]
    catalogs: Mapping[str, str]
    schema: str | None = None
    label_cols: tuple[str, ...] | None = None
    spotcheck: tuple[str, ...] = ()
    images_dir: str = "images"
    description: str = ""


DATASETS: dict[str, DatasetSpec] = {}
"""Every dataset :func:`fetch_dataset` knows, by name."""


def register_dataset(spec: DatasetSpec, overwrite: bool = False) -> DatasetSpec:
    """Make ``spec`` fetchable by name (``overwrite=True`` to replace a known one)."""
    if spec.name in DATASETS and not overwrite:
        raise ValueError(f"dataset {spec.name!r} is already registered; pass overwrite=True to replace it")
    names = {f.name for f in spec.files}
    missing = [c for c in spec.catalogs.values() if c not in names]
    if missing:
        raise ValueError(f"dataset {spec.name!r}: catalogs {missing} are not among its files {sorted(names)}")
    DATASETS[spec.name] = spec
    return spec


def get_dataset_spec(name: str | DatasetSpec) -> DatasetSpec:
    if isinstance(name, DatasetSpec):
        return name
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(DATASETS)} (or register_dataset(...))") from None


_DROPBOX = "https://dl.dropboxusercontent.com/s/"
register_dataset(DatasetSpec(
    name="gz_decals_dr5",
    files=(
        RemoteFile(_DROPBOX + "1tuehajonhgv8a2/decals_dr5_ortho_train_catalog.parquet",
                   "a0cd74edc073fdff068370f6eefeb802"),
        RemoteFile(_DROPBOX + "3vo6hjlnbqgzuxz/decals_dr5_ortho_test_catalog.parquet",
                   "55820e3712b22e587f6971e4b6c73dfe"),
        RemoteFile(_DROPBOX + "bs6jp0mkgiekhww/decals_dr5_images.tar.gz", "1347de4c8df4ec579d5a58241c1f280b"),
    ),
    catalogs={"train": "decals_dr5_ortho_train_catalog.parquet", "test": "decals_dr5_ortho_test_catalog.parquet"},
    schema="decals_dr5",
    spotcheck=("images/J073/J073013.60+242930.0.jpg",),
    description="GZ DECaLS DR5 (Walmsley et al. 2022): ~250k galaxies with volunteer votes; images ~ several GB",
))
register_dataset(DatasetSpec(
    name="demo_rings",
    files=(
        RemoteFile(_DROPBOX + "4cfb9xbnlkvbkv1/demo_rings_train_catalog.parquet", "4cf7e3eaab46032c374d89c349295aa2"),
        RemoteFile(_DROPBOX + "xghqujm41ujjlko/demo_rings_test_catalog.parquet", "7b28fc521836e76f794db50c3df4a2e1"),
        RemoteFile(_DROPBOX + "80s5j6dygtw0gu6/demo_rings_images.tar.gz", "5b3c6c62618bbd3165988c60e36b8365"),
    ),
    catalogs={"train": "demo_rings_train_catalog.parquet", "test": "demo_rings_test_catalog.parquet"},
    label_cols=("ring",),
    spotcheck=("images/313982/313982_3559.jpg", "images/374032/374032_255.jpg"),
    description="1,000 DECaLS galaxies labelled ring (1) or not (0), as in the paper's ring fine-tuning task",
))


@dataclass
class FetchedDataset:
    """A dataset on disk: where its catalogs and images are; :meth:`catalog` loads a split."""

    spec: DatasetSpec
    root: Path
    catalogs: dict[str, Path] = field(default_factory=dict)

    @property
    def images_dir(self) -> Path:
        return self.root / self.spec.images_dir

    @property
    def label_cols(self) -> list[str] | None:
        if self.spec.schema is not None:
            from .schema import get_schema

            return get_schema(self.spec.schema).label_cols
        return list(self.spec.label_cols) if self.spec.label_cols else None

    def catalog(self, split: str = "train", **read_kwargs: Any) -> pd.DataFrame:
        """One split as a checked DataFrame (see :func:`galzoo_tools.catalog.read_catalog`)."""
        from .catalog import read_catalog
        from .schema import get_schema

        if split not in self.catalogs:
            raise KeyError(f"dataset {self.spec.name!r} has splits {sorted(self.catalogs)}, not {split!r}")
        schema = get_schema(self.spec.schema) if self.spec.schema else None
        read_kwargs.setdefault("require_votes", schema is not None)
        return read_catalog(self.catalogs[split], schema=schema, image_root=self.images_dir, **read_kwargs)


def _md5(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class _ResumableDownloader:
    """A pooch downloader that streams into ``<file>.part``, resuming with HTTP Range."""

    def __init__(self, part: Path, progress: bool, retries: int, timeout: float, chunk_size: int = 1 << 18):
        self.part, self.progress, self.retries = part, progress, retries
        self.timeout, self.chunk_size = timeout, chunk_size

    def __call__(self, url: str, output_file: str, pooch: object = None, check_only: bool = False) -> None:
        self.fetch(url)
        os.replace(self.part, output_file)

    def fetch(self, url: str) -> None:
        import requests
        import urllib3

        retryable = (OSError, urllib3.exceptions.HTTPError, _Incomplete)  # requests' errors are OSErrors
        failures = 0
        while True:
            try:
                self._attempt(url, requests)
                return
            except DownloadError:
                raise  # e.g. HTTP 404: retrying will not help
            except retryable as err:
                failures += 1
                if failures > self.retries:
                    raise DownloadError(
                        f"download of {url} failed after {failures} attempt(s): {err}\n"
                        f"  -> check your connection and run again: it resumes from {self.part} "
                        f"({self.part.stat().st_size if self.part.exists() else 0} bytes so far)."
                    ) from err
                time.sleep(min(RETRY_WAIT_S * 2 ** (failures - 1), 30.0))

    def _attempt(self, url: str, requests: Any) -> None:
        from tqdm.auto import tqdm

        offset = self.part.stat().st_size if self.part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        with requests.get(url, headers=headers, stream=True, timeout=self.timeout) as response:
            if response.status_code == 416:
                return  # the .part already holds everything; the checksum decides
            if response.status_code >= 500:
                raise _Incomplete(f"server error HTTP {response.status_code}")
            if response.status_code >= 400:
                raise DownloadError(
                    f"download of {url} failed: HTTP {response.status_code} {response.reason}\n"
                    "  -> the file may have moved; check galaxy-datasets for its current URL and "
                    "register_dataset(..., overwrite=True)."
                )
            resumed = response.status_code == 206 and offset > 0
            start = offset if resumed else 0
            length = response.headers.get("Content-Length")
            total = start + int(length) if length is not None else None
            with open(self.part, "ab" if resumed else "wb") as f, tqdm(
                total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                desc=self.part.name.removesuffix(".part"), disable=not self.progress, leave=False,
            ) as bar:
                raw = response.raw  # raw bytes: never undo a Content-Encoding, the MD5 is of the file
                read = getattr(raw, "read1", raw.read)  # read1 hands over what arrived, even if cut short
                while chunk := read(self.chunk_size, decode_content=False):
                    f.write(chunk)
                    bar.update(len(chunk))
        size = self.part.stat().st_size
        if total is not None and size < total:
            raise _Incomplete(f"connection closed after {size} of {total} bytes")


class _Incomplete(Exception):
    """A transfer stopped early (retried)."""


def download_file(
    url: str,
    path: str | os.PathLike,
    md5: str | None,
    progress: bool = True,
    retries: int = 3,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``path`` unless it is already there with the right MD5.

    Streams into ``path.part`` (resuming a previous attempt where the server allows), then pooch
    checks the MD5 and only then moves the file to ``path``. On a checksum mismatch the data is
    deleted and :class:`ChecksumError` raised; on a broken connection the ``.part`` is kept.
    """
    import pooch

    path = Path(path).absolute()
    part = path.with_name(path.name + ".part")
    try:
        pooch.retrieve(
            url,
            known_hash=f"md5:{md5}" if md5 else None,
            fname=path.name,
            path=path.parent,
            downloader=_ResumableDownloader(part, progress, retries, timeout),
            progressbar=False,
        )
    except ValueError as err:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"{url} downloaded, but its MD5 is not {md5} ({err}); the corrupt file was deleted.\n"
            "  -> run again to download it afresh; if it keeps failing, the file on the server "
            "changed: check galaxy-datasets for the current checksum."
        ) from err
    return path


def _check_member(name: str, archive: Path) -> None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise ArchiveError(
            f"archive {archive} contains the unsafe path {name!r} (it would be written outside the "
            "folder); nothing was extracted. -> delete the archive and download it again from a trusted source."
        )


def _merge_move(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        target = dst / entry.name
        if entry.is_dir() and target.is_dir() and not target.is_symlink():
            _merge_move(entry, target)
        else:
            os.replace(entry, target)


def extract_archive(archive: str | os.PathLike, dest: str | os.PathLike, progress: bool = True) -> Path:
    """Unpack a tar(.gz/.xz/.bz2) or zip archive into ``dest``, refusing unsafe members.

    Members are unpacked into a hidden folder inside ``dest`` and moved into place only when
    all of them are out, so an interrupted or refused extraction leaves nothing behind.
    """
    from tqdm.auto import tqdm

    archive, dest = Path(archive), Path(dest)
    staging = dest / f".extracting-{archive.name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    bar = tqdm(desc=f"unpacking {archive.name}", unit=" files", disable=not progress, leave=False)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_member(info.filename, archive)
                    zf.extract(info, staging)
                    bar.update()
        else:
            try:
                tar = tarfile.open(archive, "r:*")
            except tarfile.TarError as err:
                raise ArchiveError(f"cannot open archive {archive}: {err}. -> delete it and download again.") from err
            with tar:
                for member in tar:
                    _check_member(member.name, archive)
                    if not (member.isfile() or member.isdir()):
                        raise ArchiveError(
                            f"archive {archive} contains {member.name!r}, a link or special file; "
                            "nothing was extracted. -> delete the archive and download it again."
                        )
                    if hasattr(tarfile, "data_filter"):
                        tar.extract(member, staging, filter="data")
                    else:  # pragma: no cover - Python < 3.11.4
                        tar.extract(member, staging)
                    bar.update()
        _merge_move(staging, dest)
    finally:
        bar.close()
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def _catalog_paths(spec: DatasetSpec, root: Path) -> dict[str, Path]:
    return {split: root / name for split, name in spec.catalogs.items()}


def _fingerprint(spec: DatasetSpec) -> list[str | None]:
    return [f.md5 for f in spec.files]


def _is_complete(spec: DatasetSpec, root: Path) -> bool:
    marker = root / _COMPLETE
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return recorded.get("md5") == _fingerprint(spec) and all(p.is_file() for p in _catalog_paths(spec, root).values())


def _has_galaxy_datasets_copy(spec: DatasetSpec, root: Path) -> bool:
    """A folder galaxy-datasets filled: catalogs with the right MD5 and the spot-check images."""
    images = root / spec.images_dir
    if not images.is_dir() or not any(images.iterdir()):
        return False
    if not all((root / p).is_file() for p in spec.spotcheck):
        return False
    plain = [f for f in spec.files if not f.is_archive]
    return all((root / f.name).is_file() and (f.md5 is None or _md5(root / f.name) == f.md5) for f in plain)


def _mark_complete(spec: DatasetSpec, root: Path, source: str) -> None:
    try:
        (root / _COMPLETE).write_text(json.dumps({"name": spec.name, "md5": _fingerprint(spec), "source": source}))
    except OSError:
        warnings.warn(f"could not write {root / _COMPLETE} (read-only folder?); the data is usable", stacklevel=3)


def fetch_dataset(
    name: str | DatasetSpec,
    root: str | os.PathLike | None = None,
    progress: bool = True,
    download: bool = True,
    keep_archive: bool = False,
    retries: int = 3,
    timeout: float = 60.0,
) -> FetchedDataset:
    """Make dataset ``name`` (``"gz_decals_dr5"``, ``"demo_rings"``, or a registered one) ready in ``root``.

    Does nothing if ``root`` is already complete (ours, or a galaxy-datasets download).
    Otherwise downloads what is missing (resuming ``.part`` files), verifies every MD5, unpacks
    the image archive (deleting it afterwards unless ``keep_archive``) and marks ``root``
    complete last. ``download=False`` raises instead of downloading.
    """
    spec = get_dataset_spec(name)
    root = Path(root).expanduser().absolute() if root is not None else cache_dir() / spec.name
    fetched = FetchedDataset(spec, root, _catalog_paths(spec, root))
    if _is_complete(spec, root):
        return fetched
    if root.is_dir() and _has_galaxy_datasets_copy(spec, root):
        _mark_complete(spec, root, "galaxy-datasets")
        return fetched
    if not download:
        raise FileNotFoundError(
            f"dataset {spec.name!r} is not (completely) in {root}. -> call fetch_dataset({spec.name!r}, "
            f"root={str(root)!r}) with download=True, online ({sum(1 for _ in spec.files)} files)."
        )
    root.mkdir(parents=True, exist_ok=True)
    for remote in spec.files:
        target = root / remote.name
        if not remote.is_archive:
            download_file(remote.url, target, remote.md5, progress, retries, timeout)
            continue
        extracted = root / f".galzoo-extracted-{remote.name}"
        if extracted.is_file() and extracted.read_text() == str(remote.md5):
            continue
        download_file(remote.url, target, remote.md5, progress, retries, timeout)
        extract_archive(target, root, progress)
        extracted.write_text(str(remote.md5))
        if not keep_archive:
            target.unlink()
    missing = [p for p in spec.spotcheck if not (root / p).is_file()]
    if missing:
        raise DownloadError(
            f"dataset {spec.name!r} downloaded to {root}, but expected images are missing: {missing}. "
            "-> delete the folder and fetch again."
        )
    _mark_complete(spec, root, "download")
    return fetched
