import functools
import http.server
import os
import re
import socket
import threading

import pytest

# Set before TensorFlow is imported by any test module: keep its start-up chatter out of
# the test log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Markers whose tests run only when asked for by name: `-m benchmark`, `-m network`.
# Left out here rather than by an `-m` in pytest.ini, because a command-line `-m` (such as
# the fast loop's `-m "not e2e"`) replaces that one and would let them back in.
OPT_IN_MARKERS = ("benchmark", "network")


def opt_in_excluded(markexpr):
    """The OPT_IN_MARKERS that the `-m` expression `markexpr` does not name."""
    return [m for m in OPT_IN_MARKERS if not re.search(rf"\b{m}\b", markexpr or "")]


def pytest_collection_modifyitems(config, items):
    excluded = opt_in_excluded(config.getoption("markexpr"))
    keep, deselected = [], []
    for item in items:
        left_out = any(item.get_closest_marker(m) for m in excluded)
        (deselected if left_out else keep).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


@pytest.fixture(scope="session", autouse=True)
def shared_data_dir(tmp_path_factory):
    """One data directory for the whole session: whatever is built or trained into it (the
    synthetic world's files, models) is shared by tests, notebooks and CLI runs. It starts
    empty, so the synthetic classifier comes from the copy shipped in the package.

    A TFCS231N_DATA set by the user is kept (its caches are reused).
    """
    if "TFCS231N_DATA" not in os.environ:
        os.environ["TFCS231N_DATA"] = str(tmp_path_factory.mktemp("tfcs231n-data"))
    return os.environ["TFCS231N_DATA"]


@pytest.fixture
def closed_port():
    """A localhost port that was free a moment ago and now is closed: "offline" for a
    download, without depending on the machine's network."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _QuietDirectoryHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the files of one directory without logging each request to stderr."""

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """Start localhost HTTP servers; they stop when the test ends.

    `http_server(handler_class)` serves with any `http.server.BaseHTTPRequestHandler`;
    `http_server(directory=path)` serves the files under `path`. Returns the running
    `ThreadingHTTPServer`, its base address in `.url` ("http://127.0.0.1:PORT"). A handler
    reaches per-test state through `self.server`, so set attributes on what this returns.
    """
    running = []

    def start(handler=None, *, directory=None):
        if (handler is None) == (directory is None):
            raise ValueError("http_server takes a handler class or directory=, not both")
        if directory is not None:
            handler = functools.partial(_QuietDirectoryHandler, directory=str(directory))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True  # a handler stuck on a slow client ends with the test
        httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        running.append((httpd, thread))
        return httpd

    yield start
    for httpd, thread in running:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def www(tmp_path, http_server):
    """(directory, url): a file written to directory/NAME is served at url/NAME."""
    root = tmp_path / "www"
    root.mkdir()
    return root, http_server(directory=root).url
