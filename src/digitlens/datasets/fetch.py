"""Downloading MNIST from public mirrors, and checking that a copy is the real MNIST.

MNIST is four gzip-compressed IDX files. The original site no longer serves them reliably, so
digitlens tries the mirrors torchvision and TensorFlow use, in turn, and keeps the first copy
whose *uncompressed* content matches the SHA-256 in `MNIST_FILES` (the .gz wrappers differ between
mirrors; the bytes inside do not). Set DIGITLENS_MNIST_MIRRORS to a comma-separated list of base
URLs (http://, https:// or file://) to use other mirrors.

A download is streamed into a temporary file next to its destination, decompressed and hashed as
it arrives, and moved into place with `os.replace` only once verified - so the cache holds either
a verified file or nothing, even if the download is interrupted (a temporary file left by a killed
process is removed by the next download of that file: see atomic.py). Each file has an overall
deadline, DEADLINE_SECONDS, as well as a timeout per read: a mirror that sends one byte every few
seconds never times out a read, but it cannot keep `digitlens data` waiting for ever.

Verification when loading: hashing all of MNIST (55 MB uncompressed) takes about 0.04 s here
(SHA-256 is hardware-accelerated on current CPUs), a fifth of the 0.2 s it takes to decompress it.
That is cheap enough to check every load, so no "already verified" marker files are kept.

Only MNIST can be downloaded: it is the only dataset with a checksum table here. Other IDX datasets
(Fashion-MNIST, ...) are read from a directory the user provides.
"""

from __future__ import annotations

import hashlib
import os
import time
import zlib
from collections.abc import Iterable
from pathlib import Path

from digitlens.atomic import atomic_write
from digitlens.errors import DataError

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MIRRORS_ENV = "DIGITLENS_MNIST_MIRRORS"
TIMEOUT_SECONDS = 30      # for connecting, and for each read
DEADLINE_SECONDS = 600    # for a whole file (MNIST's largest is 9.9 MB): then the next mirror

# name -> (uncompressed bytes, SHA-256 of the uncompressed file), as published with MNIST.
MNIST_FILES = {
    "train-images-idx3-ubyte": (47_040_016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60_008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7_840_016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10_008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
CHUNK_BYTES = 1 << 20


def mirrors() -> tuple[str, ...]:
    """The base URLs to try, in order: $DIGITLENS_MNIST_MIRRORS if set, else `MIRRORS`."""
    configured = os.environ.get(MIRRORS_ENV, "")
    urls = [u.strip() for u in configured.split(",") if u.strip()] or list(MIRRORS)
    return tuple(u if u.endswith("/") else u + "/" for u in urls)


class ChecksumMismatch(Exception):
    """A downloaded file is not the published MNIST file."""


class MirrorFailed(Exception):
    """The connection to a mirror broke while the file was arriving, or the mirror was too slow
    (kept apart from OSError, which the atomic writer reports as a failure to save)."""


def download_mnist(cache_dir: Path, names: Iterable[str] | None = None, *, progress: bool = True) -> None:
    """Download MNIST's .gz files into `cache_dir`, verified, trying each mirror in turn.

    Args:
        cache_dir: where the files go, e.g. ~/.cache/digitlens/mnist; created if missing.
        names: which of MNIST_FILES to fetch (default all four), without ".gz".
        progress: show a progress bar on stderr.

    Raises:
        DataError: no mirror could be reached (the message says where to put the files by hand),
            or every copy found had the wrong checksum (the message names both checksums).
    """
    cache_dir = Path(cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{cache_dir}: cannot create the dataset cache directory ({e.strerror or e})") from None
    bar = _progress_bar() if progress else None
    try:
        for name in names or MNIST_FILES:
            _download_one(cache_dir, name, bar)
    finally:
        if bar is not None:
            bar.stop()


def _download_one(cache_dir: Path, name: str, bar) -> None:
    """Fetch one file from the first mirror that serves a verified copy."""
    import http.client
    import urllib.error

    # OSError covers URLError, HTTPError, timeouts and refused connections; ValueError a malformed
    # URL; HTTPException and EOFError a connection cut mid-response.
    network_errors = (OSError, ValueError, EOFError, http.client.HTTPException)
    failures, mismatch = [], None
    for base in mirrors():
        url = f"{base}{name}.gz"
        try:
            _fetch_verified(url, cache_dir / f"{name}.gz", name, bar)
            return
        except ChecksumMismatch as e:
            mismatch = mismatch or f"{name}.gz from {url}: {e}"
        except MirrorFailed as e:
            failures.append(f"{url}: {str(e) or _reason(e.__cause__, urllib.error.HTTPError)}")
        except network_errors as e:
            failures.append(f"{url}: {_reason(e, urllib.error.HTTPError)}")
    if mismatch is not None:
        raise DataError(f"{mismatch}; nothing was saved")
    raise DataError(
        f"could not download MNIST ({'; '.join(failures)}): put the four MNIST .gz files in {cache_dir}"
        " or pass --data DIR / set DIGITLENS_DATA to a directory holding them"
    )


def _fetch_verified(url: str, destination: Path, name: str, bar) -> None:
    """Stream `url` into a temporary file, check the uncompressed SHA-256, then move it into place."""
    import urllib.request  # imported here: only downloads need it

    size, expected_sha = MNIST_FILES[name]
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response, \
                atomic_write(destination, error=DataError) as temp_name, open(temp_name, "wb") as out:
            total = response.headers.get("Content-Length")
            task = bar.add_task(name, total=int(total) if total else None) if bar is not None else None
            sha, unpacked, received = hashlib.sha256(), 0, 0
            inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # 16+: expect a gzip header
            while chunk := _read(response):
                received += len(chunk)
                if time.monotonic() > deadline:
                    raise MirrorFailed(f"too slow: gave up after {DEADLINE_SECONDS:g} s with {received:,}"
                                       f"{' of ' + format(int(total), ',') if total else ''} bytes received")
                out.write(chunk)
                # Bounded, so a hostile mirror cannot make us inflate a gzip bomb.
                data = inflate.decompress(chunk, size - unpacked + 1)
                sha.update(data)
                unpacked += len(data)
                if unpacked > size:
                    raise ChecksumMismatch(f"larger than the published file ({size:,} bytes uncompressed)")
                if task is not None:
                    bar.advance(task, len(chunk))
            if not inflate.eof:
                raise ChecksumMismatch("the download ended before the end of the gzip stream (truncated)")
            found = sha.hexdigest()
            if found != expected_sha:     # raised inside: the temporary file is removed, nothing kept
                raise ChecksumMismatch(
                    f"checksum mismatch: expected SHA-256 {expected_sha} ({size:,} bytes uncompressed),"
                    f" found {found} ({unpacked:,} bytes)"
                )
    except zlib.error as e:
        raise ChecksumMismatch(f"not a valid gzip file ({e})") from None


def _read(response):
    """The next bytes that have arrived, up to CHUNK_BYTES: read1 returns as soon as some are there,
    so a slow mirror cannot hold one call for ever (read would wait until CHUNK_BYTES came)."""
    import http.client

    try:
        read = getattr(response, "read1", response.read)
        return read(CHUNK_BYTES)
    except (OSError, ValueError, EOFError, http.client.HTTPException) as e:
        raise MirrorFailed() from e


def sha256_of(*buffers) -> str:
    """Hex SHA-256 of the concatenation of `buffers` (bytes or C-contiguous arrays)."""
    sha = hashlib.sha256()
    for buffer in buffers:
        sha.update(buffer)
    return sha.hexdigest()


def _progress_bar():
    """A started rich progress bar that draws on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    bar = Progress(
        TextColumn("downloading {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    bar.start()
    return bar


def _reason(error: BaseException, http_error: type) -> str:
    """A short reason for a network failure, e.g. "Connection refused" or "HTTP 404 Not Found"."""
    if isinstance(error, http_error):
        return f"HTTP {error.code} {error.reason}"
    reason = getattr(error, "reason", error)  # URLError wraps the underlying socket or file error
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return (str(reason).splitlines() or [type(error).__name__])[0]
