import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402


@pytest.fixture(scope="module")
def server():
    s = Server().start()
    yield s
    s.close()
