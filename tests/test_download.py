import hashlib
import http.server
import os
import re
import zipfile

import pytest

from tfcs231n.data.download import (
    DownloadError,
    data_dir,
    download,
    extract_zip,
    sha256sum,
)

PAYLOAD = bytes(range(256)) * 40  # 10240 bytes, every byte value
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /file; honours Range unless the server says otherwise."""

    timeout = 5  # a stuck client cannot hold a handler thread for long

    def do_GET(self):
        server = self.server
        server.log.append({"path": self.path, "range": self.headers.get("Range")})
        if self.path != "/file":
            self.send_error(404, "Not Found")
            return
        body, status = PAYLOAD, 200
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and not server.ignore_range:
            start = int(match.group(1))
            if start >= len(PAYLOAD):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(PAYLOAD)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, status = PAYLOAD[start:], 206
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        sent = body[: server.cut_after] if server.cut_after is not None else body
        # Logged before writing: the client may finish reading before this thread resumes.
        server.log[-1]["sent"] = len(sent)
        self.wfile.write(sent)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(http_server):
    httpd = http_server(_Handler)
    httpd.log, httpd.ignore_range, httpd.cut_after = [], False, None
    return httpd


def test_full_download_verifies_and_places_file(server, tmp_path):
    path = tmp_path / "sub" / "payload.bin"
    actual = download(server.url + "/file", path, DIGEST, progress=False, timeout=5)
    assert actual == path
    assert path.read_bytes() == PAYLOAD
    assert not os.path.exists(str(path) + ".part")
    assert server.log[0]["range"] is None and server.log[0]["sent"] == len(PAYLOAD)

    download(server.url + "/file", path, DIGEST, progress=False, timeout=5)
    assert len(server.log) == 1  # verified file on disk: nothing fetched


def test_resume_asks_for_range_and_gets_only_the_rest(server, tmp_path):
    path = tmp_path / "payload.bin"
    (tmp_path / "payload.bin.part").write_bytes(PAYLOAD[:1000])
    download(server.url + "/file", path, DIGEST, progress=False, timeout=5)
    assert path.read_bytes() == PAYLOAD
    assert server.log[0]["range"] == "bytes=1000-"
    assert server.log[0]["sent"] == len(PAYLOAD) - 1000


def test_complete_part_file_is_not_fetched_again(server, tmp_path):
    path = tmp_path / "payload.bin"
    (tmp_path / "payload.bin.part").write_bytes(PAYLOAD)
    download(server.url + "/file", path, DIGEST, progress=False, timeout=5)
    assert path.read_bytes() == PAYLOAD
    assert server.log[0]["range"] == f"bytes={len(PAYLOAD)}-"  # answered 416


def test_server_ignoring_range_gets_a_full_fresh_download(server, tmp_path):
    server.ignore_range = True
    path = tmp_path / "payload.bin"
    (tmp_path / "payload.bin.part").write_bytes(b"x" * 1000)  # must not be kept
    download(server.url + "/file", path, DIGEST, progress=False, timeout=5)
    assert path.read_bytes() == PAYLOAD
    assert server.log[0]["range"] == "bytes=1000-"
    assert server.log[0]["sent"] == len(PAYLOAD)


def test_checksum_mismatch_raises_and_leaves_no_file(server, tmp_path):
    path = tmp_path / "payload.bin"
    wrong = "0" * 64
    with pytest.raises(DownloadError) as info:
        download(server.url + "/file", path, wrong, progress=False, timeout=5)
    message = str(info.value)
    assert wrong in message and DIGEST in message
    assert not path.exists()
    assert not os.path.exists(str(path) + ".part")


def test_wrong_existing_file_is_replaced(server, tmp_path):
    path = tmp_path / "payload.bin"
    path.write_bytes(b"stale")
    download(server.url + "/file", path, DIGEST, progress=False, timeout=5)
    assert path.read_bytes() == PAYLOAD


def test_connection_refused_gives_one_line_error_with_url(tmp_path, closed_port):
    url = f"http://127.0.0.1:{closed_port}/file"
    path = tmp_path / "payload.bin"
    with pytest.raises(DownloadError) as info:
        download(url, path, progress=False, timeout=5)
    message = str(info.value)
    assert isinstance(info.value, OSError)
    assert "\n" not in message
    assert url in message and str(path) in message
    assert not path.exists()


def test_http_error_names_status_and_url(server, tmp_path):
    with pytest.raises(DownloadError, match=r"\b404\b") as info:
        download(server.url + "/missing", tmp_path / "x", progress=False, timeout=5)
    assert server.url + "/missing" in str(info.value)


def test_broken_transfer_keeps_part_for_resume(server, tmp_path):
    server.cut_after = 4000
    path = tmp_path / "payload.bin"
    with pytest.raises(DownloadError, match="127.0.0.1"):
        download(server.url + "/file", path, DIGEST, progress=False, timeout=5)
    assert not path.exists()
    assert (tmp_path / "payload.bin.part").read_bytes() == PAYLOAD[:4000]

    server.cut_after = None
    download(server.url + "/file", path, DIGEST, progress=False, timeout=5)
    assert path.read_bytes() == PAYLOAD
    assert server.log[-1]["range"] == "bytes=4000-"


def test_progress_line_only_when_asked(server, tmp_path, capsys):
    download(server.url + "/file", tmp_path / "a.bin", progress=False, timeout=5)
    assert capsys.readouterr().err == ""
    download(server.url + "/file", tmp_path / "b.bin", progress=True, timeout=5)
    assert "b.bin" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, name", [
    ({"url": "ftp://example.org/x"}, "url"),
    ({"sha256": "abc"}, "sha256"),
    ({"timeout": 0}, "timeout"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, name):
    args = {"url": "http://127.0.0.1:9/x", "path": tmp_path / "x", **kwargs}
    with pytest.raises(ValueError, match=rf"\b{name}\b.*{re.escape(repr(kwargs[name]))}"):
        download(**args)


def test_sha256sum(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(PAYLOAD)
    assert sha256sum(path) == DIGEST


def test_extract_zip(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("top.txt", "top")
        zf.writestr("dir/inner.txt", "inner")
    dest = extract_zip(archive, tmp_path / "out")
    assert (dest / "top.txt").read_text() == "top"
    assert (dest / "dir" / "inner.txt").read_text() == "inner"


@pytest.mark.parametrize("evil", ["../evil.txt", "dir/../../evil.txt", "/tmp/evil.txt"])
def test_extract_zip_refuses_zip_slip(tmp_path, evil):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", "fine")
        zf.writestr(evil, "evil")
    dest = tmp_path / "out"
    with pytest.raises(ValueError, match=re.escape(repr(evil))):
        extract_zip(archive, dest)
    assert not dest.exists()  # refused before anything was written
    assert not (tmp_path / "evil.txt").exists()


def test_extract_zip_rejects_non_zip(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DownloadError, match="bad.zip"):
        extract_zip(bad, tmp_path / "out")


def test_data_dir_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("TFCS231N_DATA", str(tmp_path / "data"))
    assert data_dir() == tmp_path / "data"
    assert data_dir("coco_captioning") == tmp_path / "data" / "coco_captioning"

    monkeypatch.delenv("TFCS231N_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_dir() == tmp_path / "cache" / "tfcs231n"

    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_dir() == tmp_path / "home" / ".cache" / "tfcs231n"
