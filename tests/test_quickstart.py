"""README.rst's quick start, followed as a new user would, from a wheel to an admin save.

The test reads the quick start from README.rst (between ``.. quickstart-start`` and
``.. quickstart-end``) and runs it: each ``$`` command of its console blocks, each Python
block written to the file the sentence before it names. It builds a wheel of this checkout,
makes a fresh virtualenv in a temporary directory outside the repository, and drives a real
``runserver`` and a real emulator over HTTP: it logs into the admin, adds an article, and
expects the emulator to have received exactly that article's URL.

Departures from typing the commands by hand, each because a test must not need the network
or a terminal: the suite's pip installs the wheel with ``--no-deps`` into a virtualenv that
sees the test suite's own packages (Django, requests, edgegrid-python) through a ``.pth``
file, instead of fetching them again; ``django-admin`` runs as ``python -m django``;
``createsuperuser`` runs with ``--noinput``; the emulator and ``runserver`` get free ports
instead of 8765 and 8000.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
# What the wheel is built from (a copy, so that building never writes into the checkout).
SOURCES = ["django_akamai", "setup.py", "pyproject.toml", "README.rst", "LICENSE.txt"]
TIMEOUT = 120  # seconds for any one step; a healthy run needs a few
ADMIN_USER, ADMIN_PASSWORD = "admin", "quickstart-password"

pytestmark = pytest.mark.slow


@dataclass
class Step:
    kind: str  # "command", "write" or "append"
    text: str  # the command line, or the file's content
    path: str = ""  # the file, for "write" and "append"


def quickstart_steps(readme: str) -> list[Step]:
    """The quick start's commands and files, in order."""
    start = readme.index(".. quickstart-start")
    end = readme.index(".. quickstart-end")
    lines = readme[start:end].splitlines()
    steps: list[Step] = []
    paragraph: list[str] = []  # the last paragraph of prose seen
    previous_blank = True
    i = 0
    while i < len(lines):
        line = lines[i]
        match = re.match(r"\.\. code-block:: (\w+)$", line)
        if not match:
            if line.strip():
                paragraph = [line] if previous_blank else paragraph + [line]
            previous_blank = not line.strip()
            i += 1
            continue
        language = match.group(1)
        i += 1
        block: list[str] = []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
            block.append(lines[i][4:])
            i += 1
        code = "\n".join(block).strip("\n") + "\n"
        if language == "console":
            for command in code.splitlines():
                if command.startswith("$ "):
                    steps.append(Step("command", command[2:].split("  #")[0].strip()))
        elif language == "python":
            sentence = " ".join(paragraph)
            named = re.findall(r"``([\w./]+\.py)``", sentence)
            assert named, f"no file named before this Python block: {sentence!r}"
            kind = "append" if "at the end of" in sentence else "write"
            steps.append(Step(kind, code, named[-1]))
        paragraph, previous_blank = [], True
    return steps


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class QuickStart:
    """Runs the steps in a temporary directory, like a user in a fresh shell."""

    def __init__(self, workdir: Path, wheel: Path):
        self.cwd = workdir
        self.wheel = wheel
        self.venv: Path | None = None
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        self.emulator_url = ""
        self.site_url = ""
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV"}
        }

    @property
    def python(self) -> str:
        assert self.venv is not None, "the quick start uses python before making its venv"
        return str(self.venv / "bin" / "python")

    def run(self, argv: list[str], **env: str) -> str:
        result = subprocess.run(
            argv,
            cwd=self.cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert result.returncode == 0, f"{argv} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def start(self, argv: list[str], name: str) -> Path:
        log = self.cwd / f"{name}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                argv, cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.processes.append((process, log))
        return log

    def stop(self) -> None:
        for process, _log in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _log in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def make_venv(self, name: str) -> None:
        self.venv = self.cwd / name
        # Without pip of its own (ensurepip takes seconds): the suite's pip installs into it.
        self.run([sys.executable, "-m", "venv", "--without-pip", str(self.venv)])
        purelib = self.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
        )
        # The suite's packages (Django and the app's dependencies), without its own
        # django_akamai: a plain path line, so that the suite's .pth files (its editable
        # install of this checkout) are not processed.
        Path(purelib.strip(), "quickstart-deps.pth").write_text(
            sysconfig.get_path("purelib") + "\n"
        )
        self.env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"

    def command(self, line: str) -> None:
        words = line.split()
        if words[:3] == ["python3", "-m", "venv"]:
            self.make_venv(words[3])
        elif words[0] == ".":
            pass  # activating: every command below runs the venv's python
        elif words[:2] == ["pip", "install"]:
            pip = [sys.executable, "-m", "pip", "--python", self.python, "install"]
            # --ignore-installed: the suite's own django_akamai (tox installs one) is
            # visible through the .pth file and must not count as "already installed".
            wheel = str(self.wheel)
            self.run([*pip, "--quiet", "--no-deps", "--no-index", "--ignore-installed", wheel])
        elif words[0] == "django-admin":
            self.run([self.python, "-m", "django", *words[1:]])
        elif words[0] == "cd":
            self.cwd = self.cwd / words[1]
        elif words[:3] == ["python", "-m", "django_akamai.emulator"]:
            log = self.start([self.python, *words[1:], "--port", "0"], "emulator")
            found = wait_for(
                lambda: re.search(r"listening on (http://\S+)", log.read_text()), "the emulator"
            )
            self.emulator_url = found.group(1)
        elif words[1:3] == ["manage.py", "createsuperuser"]:
            self.run(
                [self.python, *words[1:], "--noinput", "--username", ADMIN_USER]
                + ["--email", "admin@example.com"],
                DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
            )
        elif words[1:3] == ["manage.py", "runserver"]:
            port = free_port()
            self.start([self.python, *words[1:], f"127.0.0.1:{port}", "--noreload"], "site")
            self.site_url = f"http://127.0.0.1:{port}"
            wait_for(self.site_is_up, "runserver")
        elif words[0] == "python":
            self.run([self.python, *words[1:]])
        else:
            raise AssertionError(f"the quick start has a command this test cannot run: {line}")

    def site_is_up(self) -> bool:
        try:
            return requests.get(self.site_url + "/admin/login/", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()}" for _process, log in self.processes)


@pytest.fixture
def wheel(tmp_path_factory) -> Path:
    # Built offline with this environment's setuptools (the version pyproject.toml asks for).
    pytest.importorskip("setuptools", minversion="77", reason="needs setuptools>=77 to build")
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(dist), str(source)],
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )
    (built,) = dist.glob("django_akamai-*.whl")
    return built


@pytest.fixture
def quickstart(tmp_path, wheel) -> Iterator[QuickStart]:
    runner = QuickStart(tmp_path, wheel)
    try:
        yield runner
    finally:
        runner.stop()


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_quickstart_ends_with_an_admin_save_purged_through_the_emulator(quickstart):
    for step in quickstart_steps((ROOT / "README.rst").read_text(encoding="utf-8")):
        if step.kind == "command":
            quickstart.command(step.text)
        else:
            path = quickstart.cwd / step.path
            assert path.parent.is_dir(), f"{step.path}: the quick start never made its folder"
            with path.open("a" if step.kind == "append" else "w") as out:
                out.write(("\n" if step.kind == "append" else "") + step.text)
    assert quickstart.emulator_url and quickstart.site_url, "no emulator or runserver started"
    installed = quickstart.run(
        [quickstart.python, "-c", "import django_akamai; print(django_akamai.__file__)"]
    )
    assert str(quickstart.venv) in installed, f"django_akamai came from {installed}, not the wheel"

    # What a user does in the browser: log in, Blog > Articles > Add, Save.
    site, admin = quickstart.site_url, requests.Session()
    login = admin.get(f"{site}/admin/login/", timeout=30)
    answer = admin.post(
        f"{site}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": csrf_token(login.text), "username": ADMIN_USER}
        | {"password": ADMIN_PASSWORD, "next": "/admin/"},
        headers={"Referer": f"{site}/admin/login/"},
        timeout=30,
    )
    assert answer.url == f"{site}/admin/", quickstart.logs()
    form = admin.get(f"{site}/admin/blog/article/add/", timeout=30)
    saved = admin.post(
        f"{site}/admin/blog/article/add/",
        data={"csrfmiddlewaretoken": csrf_token(form.text), "title": "Hello", "slug": "hello"}
        | {"_save": "Save"},
        headers={"Referer": f"{site}/admin/blog/article/add/"},
        timeout=30,
    )
    assert saved.url == f"{site}/admin/blog/article/", quickstart.logs()

    def purged() -> list[str]:
        purges = requests.get(f"{quickstart.emulator_url}/emulator/purges", timeout=30).json()
        return [url for purge in purges for url in purge["objects"]]

    wait_for(purged, "the purge at the emulator")
    assert purged() == ["https://www.example.com/articles/hello/"], quickstart.logs()
    # The README promises it on the console and in the admin's purge history too.
    wait_for(lambda: "accepted" in quickstart.logs(), "the purge's log line")
    history = admin.get(f"{site}/admin/django_akamai/purgerecord/", timeout=30)
    assert "https://www.example.com/articles/hello/" in history.text
