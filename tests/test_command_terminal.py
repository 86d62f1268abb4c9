"""``manage.py akamai_purge`` as a real child process: exit codes, stdin, and its progress
output on a pseudo-terminal (pty) versus a pipe."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def command_env(emu):
    creds = emu.credentials
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "AKAMAI_CCU_HOST": creds.host,
            "AKAMAI_CCU_CLIENT_TOKEN": creds.client_token,
            "AKAMAI_CCU_CLIENT_SECRET": creds.client_secret,
            "AKAMAI_CCU_ACCESS_TOKEN": creds.access_token,
            "COLUMNS": "100",
        }
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def command(*args):
    return [
        sys.executable,
        "-m",
        "django",
        "akamai_purge",
        "--settings",
        "tests.command_settings",
        *args,
    ]


def run_in_pty(argv, env, timeout=60.0):
    """Run with stdin, stdout and stderr on a pseudo-terminal; return (status, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        status = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return status, b"".join(chunks).decode("utf-8", "replace")


def urls(n):
    return [f"https://www.example.com/{i}/" + "z" * 180 for i in range(n)]


def test_progress_bar_on_a_terminal(akamai_emulator, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls(2000)) + "\n")
    status, output = run_in_pty(command("--file", str(listing)), command_env(akamai_emulator))
    assert status == 0, output
    assert "Purging" in output
    assert "100%" in output and "2000/2000" in output
    assert "\r" in output  # the bar redraws in place
    assert "Request 1:" not in output  # no plain lines on a terminal
    assert "Akamai accepted 2000 URL(s)" in output
    assert akamai_emulator.counters["objects_accepted"] == 2000


def test_quiet_on_a_terminal_has_no_bar(akamai_emulator):
    status, output = run_in_pty(command("--quiet", "/calm"), command_env(akamai_emulator))
    assert status == 0, output
    assert "Purging" not in output and "%" not in output
    assert "Akamai accepted 1 URL(s)" in output


def test_plain_lines_through_a_pipe_and_stdin(akamai_emulator):
    proc = subprocess.run(
        command("-"),
        input="\n".join(urls(700)),
        capture_output=True,
        text=True,
        env=command_env(akamai_emulator),
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stdout + proc.stderr
    assert "Purging" not in proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("Request ")]
    assert len(lines) == akamai_emulator.counters["requests"] > 1
    assert "Akamai accepted 700 URL(s)" in proc.stdout


def test_exit_status_1_when_akamai_refuses(akamai_emulator):
    akamai_emulator.configure(allowed_hosts=["www.example.com"])
    proc = subprocess.run(
        command("https://elsewhere.example.net/x"),
        capture_output=True,
        text=True,
        env=command_env(akamai_emulator),
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "HTTP 403" in proc.stderr
    assert "https://elsewhere.example.net/x" in proc.stderr
    assert akamai_emulator.credentials.client_secret not in proc.stdout + proc.stderr


@pytest.mark.parametrize("text, line", [("/ok\n\nnot a url\n", 3), ("mailto:x@y\n", 1)])
def test_exit_status_2_names_the_bad_stdin_line(akamai_emulator, text, line):
    proc = subprocess.run(
        command("--file", "-"),
        input=text,
        capture_output=True,
        text=True,
        env=command_env(akamai_emulator),
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 2
    assert f"stdin, line {line}:" in proc.stderr
    assert akamai_emulator.counters["requests"] == 0
