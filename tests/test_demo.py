"""`make demo` runs the example project's `manage.py demo`: it must keep working."""

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "example"


def test_demo_purges_through_every_door_and_shows_the_table():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_site.settings"}
    done = subprocess.run(
        [sys.executable, "manage.py", "demo", "--time-scale", "10"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "5 request(s) accepted, 28 object(s) purged." in out
    assert "1 object(s) purged by 1 task(s)" in out  # the queued purge
    assert "at its end: 21 object(s) in 1 request(s)" in out  # suspend_purges()
    assert "https://www.example.com/posts/hello-again/" in out  # automatic purging
    assert "| 3 | v3  | delete " in out  # queue_purge_request with action="delete"
    assert "Emulator stopped." in out
    # Through the emulated edge: served, saved, delivered, fresh N s later; URL then tag.
    assert out.count("from the edge: TCP_MISS") == 2
    assert out.count("the edge still serves: TCP_HIT") == 1
    assert "accepted invalidate url https://www.example.com/posts/on-the-edge/" in out
    assert "accepted invalidate tag blog.post." in out
    assert out.count("s after the commit (TCP_REFRESH_MISS") == 2
    assert "<h1>Second title</h1>" in out and "the last: 'A tagged post'" in out
    assert "--edge-origin http://127.0.0.1:8000" in out  # by hand, with the edge
    assert out.rstrip().endswith("curl http://127.0.0.1:8765/emulator/purges")  # by hand
