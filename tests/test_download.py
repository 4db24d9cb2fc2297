"""The downloader against a local HTTP server: good, corrupted, interrupted and resumed fetches,
unsafe archives, and folders galaxy-datasets already filled. Nothing here leaves 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest_data import make_catalog_folder

from galzoo_tools import download
from galzoo_tools.download import (
    ArchiveError,
    ChecksumError,
    DatasetSpec,
    DownloadError,
    RemoteFile,
    extract_archive,
    fetch_dataset,
    register_dataset,
)

ARCHIVE = "local_images.tar.gz"


@dataclass
class FakeHost:
    """What the local server serves, how it misbehaves, and what it was asked."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_next: dict[str, int] = field(default_factory=dict)  # name -> requests to cut half-way
    honour_range: bool = True
    log: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""


def _handler(host: FakeHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            host.log.append((name, self.headers.get("Range")))
            data = host.files.get(name)
            if data is None:
                self.send_error(404)
                return
            start = 0
            if self.headers.get("Range") and host.honour_range:
                start = int(self.headers["Range"].split("=")[1].split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if host.cut_next.get(name, 0) > 0:
                host.cut_next[name] -= 1
                self.wfile.write(body[: len(body) // 2])
                return  # HTTP/1.0: the connection closes here, short of Content-Length
            self.wfile.write(body)

    return Handler


@pytest.fixture()
def host() -> Iterator[FakeHost]:
    state = FakeHost()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _tarball(folder: Path, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder / "images", arcname="images")
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture()
def dataset(host: FakeHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DatasetSpec:
    """A galaxy-datasets-style dataset (catalogs + image tarball) served by ``host``."""
    monkeypatch.setattr(download, "DATASETS", dict(download.DATASETS))
    monkeypatch.setattr(download, "RETRY_WAIT_S", 0.0)
    src = tmp_path / "source"
    df = make_catalog_folder(src, n=6, subfolders=True)
    host.files = {
        "train.parquet": df.iloc[:4].to_parquet(index=False),
        "test.parquet": df.iloc[4:].to_parquet(index=False),
        ARCHIVE: _tarball(src),
    }
    spec = DatasetSpec(
        name="local_test",
        files=tuple(RemoteFile(host.url + name, _md5(data)) for name, data in host.files.items()),
        catalogs={"train": "train.parquet", "test": "test.parquet"},
        schema="decals_dr5",
        spotcheck=("images/100/gal000.png",),
    )
    return register_dataset(spec)


def _fetch(root: Path, **kwargs: object) -> download.FetchedDataset:
    kwargs.setdefault("retries", 0)
    return fetch_dataset("local_test", root=root, progress=False, timeout=5, **kwargs)


def _looks_complete(root: Path) -> bool:
    return (root / ARCHIVE).exists() or (root / ".galzoo-complete.json").exists() or (root / "images").exists()


def test_good_download_extracts_and_loads(dataset: DatasetSpec, host: FakeHost, tmp_path: Path) -> None:
    root = tmp_path / "data"
    fetched = _fetch(root)
    assert (root / "images" / "101" / "gal003.jpg").is_file()
    assert not (root / ARCHIVE).exists() and not list(root.glob("*.part")) and not list(root.glob(".extracting*"))
    train = fetched.catalog("train")
    assert len(train) == 4 and train["file_loc"].map(lambda p: Path(p).is_file()).all()
    assert fetched.catalog("test")["id_str"].tolist() == ["gal004", "gal005"]
    assert len(fetched.label_cols or []) == 34
    asked = len(host.log)
    assert fetch_dataset("local_test", root=root, download=False).catalogs == fetched.catalogs
    _fetch(root)
    assert len(host.log) == asked  # already complete: no request at all


def test_corrupted_download_leaves_nothing_that_looks_complete(
    dataset: DatasetSpec, host: FakeHost, tmp_path: Path
) -> None:
    good = host.files[ARCHIVE]
    host.files[ARCHIVE] = good[:100] + bytes([good[100] ^ 0xFF]) + good[101:]
    root = tmp_path / "data"
    with pytest.raises(ChecksumError, match=r"local_images\.tar\.gz.*MD5") as info:
        _fetch(root)
    assert "run again" in str(info.value)
    assert not _looks_complete(root) and not list(root.glob("*.part"))
    with pytest.raises(FileNotFoundError, match="download=True"):
        fetch_dataset("local_test", root=root, download=False)
    host.files[ARCHIVE] = good
    assert _fetch(root).catalog("train").shape[0] == 4


def test_interrupted_download_resumes_with_range(dataset: DatasetSpec, host: FakeHost, tmp_path: Path) -> None:
    root = tmp_path / "data"
    size = len(host.files[ARCHIVE])
    host.cut_next[ARCHIVE] = 1
    with pytest.raises(DownloadError, match="resumes from"):
        _fetch(root)
    part = root / (ARCHIVE + ".part")
    assert part.stat().st_size == size // 2
    assert not _looks_complete(root)
    _fetch(root)
    assert (ARCHIVE, f"bytes={size // 2}-") in host.log
    assert not part.exists() and (root / "images" / "100" / "gal000.png").is_file()


def test_retries_within_one_call(dataset: DatasetSpec, host: FakeHost, tmp_path: Path) -> None:
    host.cut_next[ARCHIVE] = 2
    _fetch(tmp_path / "data", retries=3)
    ranges = [r for name, r in host.log if name == ARCHIVE]
    assert ranges[0] is None and len(ranges) == 3 and all(r and r.startswith("bytes=") for r in ranges[1:])


def test_a_stale_partial_file_is_never_taken_as_complete(
    dataset: DatasetSpec, host: FakeHost, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    part = root / (ARCHIVE + ".part")
    part.write_bytes(b"garbage from another version of the file" * 10)
    with pytest.raises(ChecksumError):
        _fetch(root)  # resumed onto garbage: the checksum catches it and the data goes
    assert not part.exists() and not _looks_complete(root)
    part.write_bytes(b"more garbage")
    host.honour_range = False  # server answers 200 with the whole file: start over
    assert _fetch(root).catalog("train").shape[0] == 4


def test_unsafe_archive_is_refused(dataset: DatasetSpec, host: FakeHost, tmp_path: Path) -> None:
    evil = _tarball(tmp_path / "source", extra={"../evil.txt": b"pwned"})
    host.files[ARCHIVE] = evil
    spec = DatasetSpec(
        name="local_test",
        files=tuple(RemoteFile(host.url + n, _md5(d)) for n, d in host.files.items()),
        catalogs=dataset.catalogs,
        schema="decals_dr5",
    )
    register_dataset(spec, overwrite=True)
    root = tmp_path / "data"
    with pytest.raises(ArchiveError, match=r"unsafe path '\.\./evil\.txt'"):
        _fetch(root)
    assert not (tmp_path / "evil.txt").exists() and not (root.parent / "evil.txt").exists()
    assert not (root / "images").exists() and not list(root.glob(".extracting*"))
    assert not (root / ".galzoo-complete.json").exists()


def test_galaxy_datasets_folder_is_used_without_downloading(
    dataset: DatasetSpec, host: FakeHost, tmp_path: Path
) -> None:
    root = tmp_path / "gd_root"
    make_catalog_folder(root, n=6, subfolders=True)
    for name in ("train.parquet", "test.parquet"):
        (root / name).write_bytes(host.files[name])
    host.files.clear()  # any request would now 404
    fetched = _fetch(root)
    assert host.log == []
    assert (root / ".galzoo-complete.json").exists()
    assert fetched.catalog("train")["file_loc"].iloc[0] == str(root / "images" / "100" / "gal000.png")


def test_http_errors_are_clear(dataset: DatasetSpec, host: FakeHost, tmp_path: Path) -> None:
    del host.files["train.parquet"]
    with pytest.raises(DownloadError, match="HTTP 404"):
        _fetch(tmp_path / "data")


def test_extract_zip_and_refuse_unsafe_zip(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("images/a/one.png", b"x")
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("images/ok.png", b"x")
        zf.writestr("/etc/evil.txt", b"x")
    extract_archive(good, tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "images" / "a" / "one.png").read_bytes() == b"x"
    with pytest.raises(ArchiveError, match="evil"):
        extract_archive(bad, tmp_path / "out2", progress=False)
    assert not (tmp_path / "out2" / "images").exists()


def test_known_datasets_and_registry_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("gz_decals_dr5", "demo_rings"):
        spec = download.get_dataset_spec(name)
        assert all(len(f.md5 or "") == 32 and f.url.startswith("https://") for f in spec.files)
        assert sum(f.is_archive for f in spec.files) == 1 and set(spec.catalogs) == {"train", "test"}
    with pytest.raises(KeyError, match="demo_rings"):
        download.get_dataset_spec("nope")
    monkeypatch.setattr(download, "DATASETS", dict(download.DATASETS))
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(download.get_dataset_spec("demo_rings"))
    with pytest.raises(ValueError, match="not among its files"):
        register_dataset(DatasetSpec("x", (RemoteFile("http://127.0.0.1/a.parquet", None),), {"train": "b.parquet"}))
