"""``python -m django_akamai.emulator`` and ``manage.py akamai_emulator`` as real processes."""

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from akamai.edgegrid import EdgeGridAuth, EdgeRc

from django_akamai.emulator import cli
from django_akamai.emulator.credentials import EmulatorCredentials, render_edgerc

ROOT = Path(__file__).resolve().parent.parent
URL = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


class Process:
    """A child process whose stdout is collected by a thread, so reads can time out."""

    def __init__(self, args, env=None):
        self.lines = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                self.ready.set()
        self.ready.set()

    def base_url(self):
        assert self.ready.wait(60), "no start-up banner"
        for line in self.lines:
            match = URL.search(line)
            if match:
                return match.group(1)
        raise AssertionError("no URL in output:\n" + "\n".join(self.lines))

    def value(self, key):
        for line in self.lines:
            name, _, value = line.strip().partition(" = ")
            if name.strip() == key:
                return value.strip()
        raise AssertionError(f"{key} not printed")

    def terminate(self, signum=signal.SIGTERM):
        self.proc.send_signal(signum)
        code = self.proc.wait(30)
        self.reader.join(10)
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def spawn():
    started = []

    def start(args, env=None):
        process = Process(args, env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def child_env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def test_module_cli_serves_signed_requests_and_exits_cleanly_on_sigterm(spawn, tmp_path):
    edgerc = tmp_path / "edgerc"
    edgerc.write_text(
        "# mine\n[default]\nhost = akab-real.purge.akamaiapis.net\n"
        "client_token = keep-me\n\n[other]\nmax_body = 1\n"
    )
    process = spawn(
        [
            "-m",
            "django_akamai.emulator",
            "--port",
            "0",
            "--edgerc",
            str(edgerc),
            "--section",
            "emu",
            "--username",
            "alice",
            "--password",
            "s3cret-pw",
            "--allowed-hosts",
            "www.example.com,img.example.com",
        ],
        child_env(),
    )
    base_url = process.base_url()
    assert process.value("username") == "alice" and process.value("password") == "s3cret-pw"
    assert any(f"[emu] of {edgerc}" in line for line in process.lines)

    rc = EdgeRc(str(edgerc))
    assert rc.get("emu", "host") == base_url
    assert rc.get("emu", "client_token") == process.value("client_token")
    assert rc.get("emu", "client_secret") == process.value("client_secret")
    assert rc.get("emu", "access_token") == process.value("access_token")
    assert rc.get("default", "client_token") == "keep-me"
    assert rc.get("other", "max_body") == "1"
    assert edgerc.read_text().startswith("# mine\n")
    assert edgerc.stat().st_mode & 0o077 == 0

    with requests.Session() as session:
        session.auth = EdgeGridAuth.from_edgerc(rc, "emu")
        ok = session.post(
            base_url + "/ccu/v3/invalidate/url/production",
            json={"objects": ["https://www.example.com/cli"]},
            timeout=10,
        )
        assert ok.status_code == 201, ok.text
        refused = session.post(
            base_url + "/ccu/v3/invalidate/url/production",
            json={"objects": ["https://elsewhere.example.org/"]},
            timeout=10,
        )
        assert refused.status_code == 403
    listed = requests.get(base_url + "/emulator/purges", timeout=10).json()
    assert [p["objects"] for p in listed] == [["https://www.example.com/cli"]]

    assert process.terminate() == 0
    assert process.lines[-1] == "Emulator stopped."
    # Credentials are printed once at start, never again per request.
    secret = process.value("client_secret")
    assert sum(secret in line for line in process.lines) == 1


def test_ctrl_c_stops_cleanly(spawn):
    process = spawn(["-m", "django_akamai.emulator", "--port", "0"], child_env())
    assert requests.get(process.base_url() + "/emulator/counters", timeout=10).ok
    assert process.terminate(signal.SIGINT) == 0
    assert process.lines[-1] == "Emulator stopped."


def test_module_cli_reports_a_taken_port(spawn):
    with socket_listening() as port:
        process = spawn(["-m", "django_akamai.emulator", "--port", str(port)], child_env())
        assert process.proc.wait(30) == 1
        process.reader.join(10)
    assert any("cannot listen" in line for line in process.lines)


def test_management_command(spawn):
    env = child_env(DJANGO_SETTINGS_MODULE="tests.settings")
    process = spawn(
        [
            "-m",
            "django",
            "akamai_emulator",
            "--port",
            "0",
            "--rate-limits",
            "off",
            "--fail-rate",
            "0",
            "--latency-ms",
            "0-1",
            "--seed",
            "3",
        ],
        env,
    )
    base_url = process.base_url()
    with requests.Session() as session:
        session.auth = EdgeGridAuth(
            process.value("client_token"),
            process.value("client_secret"),
            process.value("access_token"),
        )
        response = session.post(
            base_url + "/ccu/v3/delete/tag/staging",
            json={"objects": ["from-manage-py"]},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        assert response.headers["X-Ratelimit-Remaining"] == "100"  # limits are off
    assert process.terminate() == 0


def test_options_map_onto_the_emulator():
    options = vars(
        cli.build_parser().parse_args(
            [
                "--port",
                "0",
                "--rate-limits",
                "off",
                "--time-scale",
                "20",
                "--fail-rate",
                "0.1",
                "--latency-ms",
                "20-80",
                "--drop-rate",
                "0.05",
                "--slow-rate",
                "0.01",
                "--slow-seconds",
                "3",
                "--seed",
                "4",
                "--allowed-hosts",
                "a.example.com, B.example.com",
                "--v2-estimate-seconds",
                "0.5",
                "--refuse-replayed-nonces",
                "--client-token",
                "akab-ct",
                "--client-secret",
                "cw==",
                "--access-token",
                "akab-at",
            ]
        )
    )
    emu = cli.emulator_from_options(options)
    knobs = emu.knobs
    assert knobs.rate_limits == "off" and knobs.time_scale == 20.0
    assert (knobs.fail_rate, knobs.drop_rate, knobs.slow_rate) == (0.1, 0.05, 0.01)
    assert knobs.latency_ms == (20.0, 80.0) and knobs.slow_seconds == 3.0
    assert knobs.seed == 4 and knobs.v2_estimate_seconds == 0.5
    assert knobs.allowed_hosts == {"a.example.com", "b.example.com"}
    assert knobs.refuse_replayed_nonces is True
    assert emu._unbound_credentials.client_token == "akab-ct"
    assert cli.emulator_from_options(vars(cli.build_parser().parse_args([]))).knobs == (
        cli.Emulator().knobs
    )
    assert cli.Emulator().knobs.refuse_replayed_nonces is False
    defaults = vars(cli.build_parser().parse_args([]))
    assert defaults["port"] == 8765 and defaults["bind"] == "127.0.0.1"
    assert defaults["section"] == "CCU"


@pytest.mark.parametrize(
    "argv",
    [["--fail-rate", "2"], ["--latency-ms", "x"], ["--time-scale", "0"], ["--rate-limits", "some"]],
)
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(argv)


CREDS = EmulatorCredentials("http://127.0.0.1:1234", "akab-c", "c2VjcmV0", "akab-a", "u", "p")


def test_render_edgerc_new_file():
    text = render_edgerc("", "CCU", CREDS)
    assert text == (
        "[CCU]\nhost = http://127.0.0.1:1234\nclient_token = akab-c\n"
        "client_secret = c2VjcmV0\naccess_token = akab-a\n"
    )


def test_render_edgerc_updates_only_its_section():
    existing = (
        "; comment\n[default]\nhost = h\n\n[CCU]\nclient-token = old\nhost=old\n"
        "max_body = 2048\n[after]\nx = 1"
    )
    text = render_edgerc(existing, "CCU", CREDS)
    assert text.startswith("; comment\n[default]\nhost = h\n\n[CCU]\nhost = http://127.0.0.1")
    assert "old" not in text
    assert "max_body = 2048\n[after]\nx = 1\n" in text
    assert text.count("[CCU]") == 1 and text.count("client_token") == 1


class socket_listening:
    def __enter__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        return self.sock.getsockname()[1]

    def __exit__(self, *exc):
        self.sock.close()


def test_edge_options_start_an_edge_and_are_described():
    options = vars(
        cli.build_parser().parse_args(
            [
                "--port",
                "0",
                "--edge-origin",
                "http://127.0.0.1:9",
                "--edge-port",
                "0",
                "--edge-host",
                "www.example.com",
                "--edge-cpcode",
                "1",
                "--edge-cpcode",
                "2",
                "--edge-default-ttl",
                "30",
            ]
        )
    )
    with cli.emulator_from_options(options) as emu:
        edge = emu.edge
        assert edge.public_host == "www.example.com" and edge.cp_codes == {1, 2}
        assert edge.default_ttl == 30.0 and edge.origin == "http://127.0.0.1:9"
        text = "\n".join(cli.describe(emu))
        assert f"Edge (caching proxy) at {edge.base_url}" in text
        assert "listening on" not in text.split("\n", 1)[1]  # scripts read line 1's URL
    defaults = vars(cli.build_parser().parse_args([]))
    assert defaults["edge_origin"] is None and defaults["edge_port"] == 8766


def test_edge_caches_under_the_origins_host_by_default_and_the_banner_says_how_to_change_it():
    parse = cli.build_parser().parse_args
    base = ["--port", "0", "--edge-origin", "http://127.0.0.1:9", "--edge-port", "0"]
    with cli.emulator_from_options(vars(parse(base))) as emu:
        assert emu.edge.cache_host == "127.0.0.1:9" and emu.edge.origin_timeout == 60.0
        text = "\n".join(cli.describe(emu))
        assert "caches under host 127.0.0.1:9 (the origin's; --edge-host to change)" in text
        assert "http://127.0.0.1:9/page/" in text
    with cli.emulator_from_options(vars(parse([*base, "--edge-host", "*"]))) as emu:
        assert emu.edge.cache_host is None
        assert "caches under each request's Host (--edge-host *)" in "\n".join(cli.describe(emu))


def test_edge_origin_timeout_and_fault_options():
    options = vars(
        cli.build_parser().parse_args(
            [
                "--port",
                "0",
                "--edge-origin",
                "http://127.0.0.1:9",
                "--edge-port",
                "0",
                "--edge-origin-timeout",
                "90",
                "--edge-drop-rate",
                "0.25",
                "--edge-recache-rate",
                "0.5",
                "--seed",
                "7",
            ]
        )
    )
    with cli.emulator_from_options(options) as emu:
        assert emu.edge.origin_timeout == 90.0
        assert (emu.knobs.edge_drop_rate, emu.knobs.edge_recache_rate) == (0.25, 0.5)
        assert emu.edge.faults.drop_rate == 0.25 and emu.edge.faults.recache_rate == 0.5
    for bad in (["--edge-origin-timeout", "0"], ["--edge-drop-rate", "2"]):
        with pytest.raises(SystemExit):
            cli.build_parser().parse_args(bad)


def test_module_cli_edge_fault_and_knobs_over_the_control_api(spawn):
    process = spawn(
        [
            "-m",
            "django_akamai.emulator",
            "--port",
            "0",
            "--edge-origin",
            "http://127.0.0.1:9",
            "--edge-port",
            "0",
            "--edge-drop-rate",
            "1",
        ],
        child_env(),
    )
    base_url = process.base_url()
    assert any("caches under host 127.0.0.1:9" in line for line in process.lines)
    knobs = requests.get(base_url + "/emulator/knobs", timeout=10).json()
    assert knobs["edge_drop_rate"] == 1.0
    faults = requests.post(base_url + "/emulator/edge/faults", json={"recache_next": 1}, timeout=10)
    assert faults.json()["recache_next"] == 1
    assert process.terminate() == 0
