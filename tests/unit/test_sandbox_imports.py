"""The hook sandbox's host process loads only what it needs before it locks itself in (issue 15):
no redis, no Ray, no HTTP or gRPC stack. Checked in a fresh interpreter, as the worker starts it."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def test_sandbox_host_imports_no_service_stack() -> None:
    code = (
        "import sys, beamtrack.workers.sandbox.host as h; "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('redis', 'ray', 'httpx', 'grpc', 'fastapi', 'hiredis'))))"
    )
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
