import os
import socket

import pytest

# Set before TensorFlow is imported by any test module: keep its start-up chatter out of
# the test log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
