"""Fetch data files over HTTP(S): resumable, checksummed, and placed atomically.

Every data set and weight file of the project goes through `download`, so a half-finished
or corrupted transfer can never be mistaken for a good file: bytes go to ``<path>.part``
and only reach ``<path>`` once complete and (when a digest is known) verified.
"""

import hashlib
import http.client
import os
import re
import stat
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tfcs231n._progress import interactive

_CHUNK = 1 << 20  # bytes read per network / disk call
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


class DownloadError(OSError):
    """A download failed, or the file it produced is not the expected one."""


class DamagedFile(OSError):
    """A file this package wrote or ships exists but cannot be used (unreadable, or not the
    bytes recorded for it); the message names the file and what to do about it."""


def data_dir(subdir=None):
    """Return the directory where tfcs231n keeps downloaded data.

    `TFCS231N_DATA` wins when set; otherwise `$XDG_CACHE_HOME/tfcs231n`, falling back to
    `~/.cache/tfcs231n`. The directory is not created here.

    Args:
        subdir: optional name appended to the data directory (e.g. "coco_captioning").

    Returns:
        A `pathlib.Path`.
    """
    root = os.environ.get("TFCS231N_DATA")
    if not root:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
        root = os.path.join(cache, "tfcs231n")
    root = Path(root).expanduser()
    return root / subdir if subdir else root


def sha256sum(path):
    """Return the SHA-256 hex digest (64 lowercase characters) of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url, path, sha256=None, *, progress=True, timeout=30.0):
    """Download `url` to `path`, resuming an earlier partial download.

    Bytes are streamed to ``path + ".part"``; an existing `.part` is resumed with an HTTP
    Range request (a server that ignores Range simply sends the whole file again). The
    finished file is checked against `sha256` when given and only then moved to `path`
    with `os.replace`, so `path` never holds a partial or unverified file. If `path`
    already exists and matches `sha256` (or no digest is given), nothing is fetched.

    Args:
        url: http:// or https:// address.
        path: destination file; parent directories are created.
        sha256: expected SHA-256 hex digest, or None to skip verification.
        progress: print a one-line progress indicator on stderr.
        timeout: seconds to wait for the connection and for each read.

    Returns:
        `path` as a `pathlib.Path`.

    Raises:
        DownloadError: the host is unreachable, the server answered with an HTTP error,
            the transfer broke off, or the checksum does not match. The message is one
            line naming the URL and where to put the file if fetched by hand.
    """
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"url must be an http:// or https:// address, got {url!r}")
    if sha256 is not None:
        if not isinstance(sha256, str) or not _SHA256_RE.fullmatch(sha256.lower()):
            raise ValueError(f"sha256 must be 64 hex characters, got {sha256!r}")
        sha256 = sha256.lower()
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    path = Path(path)
    if path.is_file() and (sha256 is None or sha256sum(path) == sha256):
        return path

    path.parent.mkdir(parents=True, exist_ok=True)
    part = Path(str(path) + ".part")
    by_hand = f"download it by hand to {path}"
    try:
        _fetch(url, part, timeout, progress)
    except urllib.error.HTTPError as e:
        raise DownloadError(
            f"Could not download {url}: HTTP {e.code} {_one_line(e.reason)}; {by_hand}"
        ) from e
    except urllib.error.URLError as e:
        raise DownloadError(
            f"Could not download {url}: {_one_line(e.reason)}; check your network "
            f"connection, or {by_hand}"
        ) from e
    except (OSError, http.client.HTTPException) as e:
        raise DownloadError(
            f"Could not download {url}: {_one_line(e) or type(e).__name__}; run again to "
            f"resume, or {by_hand}"
        ) from e

    if sha256 is not None:
        actual = sha256sum(part)
        if actual != sha256:
            # A wrong file must not be resumed next time; start over instead.
            part.unlink()
            raise DownloadError(
                f"Checksum mismatch for {url}: expected SHA-256 {sha256}, got {actual}; "
                f"the file was deleted. Try again, or {by_hand}"
            )
    os.replace(part, path)
    return path


def extract_zip(zip_path, dest):
    """Extract every member of `zip_path` into `dest` and return `dest` as a Path.

    All member names are checked before anything is written: a member whose name is
    absolute, climbs out with "..", or is a symbolic link is refused (zip-slip), so a
    hostile archive writes nothing.

    Raises:
        ValueError: a member would land outside `dest`.
        DownloadError: `zip_path` is not a readable zip archive.
    """
    dest = Path(dest)
    root = os.path.realpath(dest)
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as e:
        raise DownloadError(
            f"{zip_path} is not a valid zip archive ({e}); delete it and download again"
        ) from e
    with archive:
        for info in archive.infolist():
            target = os.path.realpath(os.path.join(root, info.filename))
            is_link = stat.S_ISLNK(info.external_attr >> 16)
            if is_link or os.path.commonpath([root, target]) != root:
                raise ValueError(
                    f"Refusing to extract {info.filename!r} from {zip_path}: it would be "
                    f"written outside {dest}"
                )
        dest.mkdir(parents=True, exist_ok=True)
        archive.extractall(dest)
    return dest


def _fetch(url, part, timeout, progress):
    """Stream `url` into `part`, appending when the server honours a Range request."""
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "tfcs231n"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code != 416 or not offset:
            raise
        # 416: the .part is already whole, or longer than the file now on the server.
        total = _range_total(e.headers.get("Content-Range"))
        e.close()
        if total == offset:
            return
        part.unlink()
        return _fetch(url, part, timeout, progress)

    with response:
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if offset and response.status == 206:
            if _range_start(response.headers.get("Content-Range")) != offset:
                # Appending a range we did not ask for would corrupt the file.
                response.close()
                part.unlink()
                return _fetch(url, part, timeout, progress)
            mode = "ab"
        else:
            offset, mode = 0, "wb"
        total = offset + length if length is not None else None
        bar = _Progress(part.name[: -len(".part")], total, offset) if progress else None
        done = offset
        with open(part, mode) as f:
            for block in iter(lambda: response.read(_CHUNK), b""):
                f.write(block)
                done += len(block)
                if bar:
                    bar.update(done)
        if bar:
            bar.close(done)
    if total is not None and done != total:
        raise OSError(f"connection closed after {done} of {total} bytes")


def _range_start(header):
    """First byte of a 'bytes START-END/TOTAL' Content-Range header, or None."""
    match = re.match(r"bytes (\d+)-", header or "")
    return int(match.group(1)) if match else None


def _range_total(header):
    """TOTAL of a 'bytes .../TOTAL' Content-Range header, or None."""
    match = re.search(r"/(\d+)\s*$", header or "")
    return int(match.group(1)) if match else None


def _one_line(reason):
    return " ".join(str(reason).split())


class _Progress:
    """Carriage-return progress line on stderr, redrawn at most ten times a second; one plain
    line at the end when stderr is a file or pipe (no carriage returns in a log).

    A plain line rather than keras.utils.Progbar keeps this module free of TensorFlow.
    """

    def __init__(self, name, total, start):
        self.name, self.total, self.last = name, total, 0.0
        self.redraw = interactive(sys.stderr)
        self.update(start)

    def _line(self, done):
        line = f"{self.name}: {done / 1e6:.1f} MB"
        if self.total:
            line += f" / {self.total / 1e6:.1f} MB ({100 * done / self.total:3.0f}%)"
        return line

    def update(self, done, force=False):
        now = time.monotonic()
        if not self.redraw or (not force and now - self.last < 0.1):
            return
        self.last = now
        sys.stderr.write(f"\r{self._line(done)}")
        sys.stderr.flush()

    def close(self, done):
        if self.redraw:
            self.update(done, force=True)
            sys.stderr.write("\n")
        else:
            sys.stderr.write(f"{self._line(done)}\n")
        sys.stderr.flush()
