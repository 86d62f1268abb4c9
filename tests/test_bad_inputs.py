"""Bad inputs at every door: each is refused with its specific exception, exit status, form
error or system check id, and nothing reaches Akamai or the Celery broker.

One table, ``TABLE``: (id, door, input, expected). The doors are ``PurgeRequest`` (``add()``
then ``purge_all()``), the ``purge_request`` and ``queue_purge_request`` signals,
``PurgeRequestTask.delay``, the ``akamai_purge`` command (through ``call_command`` and, where
argparse decides the exit status, as ``manage.py`` runs it), the admin's "Purge URLs" page and
the system checks. After every row the emulator has received no request and the in-memory
broker holds no message. ``test_every_door_sends_a_good_input`` shows that each door does send
when the input is good, so the "nothing sent" half of each row can fail.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from django.test import Client

from django_akamai.exceptions import (
    AkamaiConfigurationError,
    EdgercError,
    InvalidCPCode,
    InvalidHostError,
    InvalidPurgeObject,
    InvalidPurgeOptions,
    InvalidTag,
    InvalidURL,
    NoAkamaiPasswordProvidedException,
    NoAkamaiUsernameProvidedException,
    NoBaseURLConfigured,
    NotACPCode,
    NotAURL,
    ObjectTooLarge,
    PlainHttpHostError,
    UnsupportedPurgeObject,
)
from django_akamai.management.commands.akamai_purge import Command
from django_akamai.purge import PurgeRequest
from django_akamai.signals import purge_request, queue_purge_request
from django_akamai.tasks import PurgeRequestTask
from tests.test_admin import PURGE_URL, messages_of, staff
from tests.test_checks import ids as check_ids
from tests.test_command import run
from tests.test_tasks import published
from tests.testapp.models import Note

pytestmark = pytest.mark.django_db(transaction=True)

HUGE_URL = "https://www.example.com/" + "x" * 50_000  # one URL larger than any request body


def _deep(depth: int) -> list[Any]:
    value: list[Any] = ["/deep"]
    for _ in range(depth):
        value = [value]
    return value


DEEP = _deep(5000)  # RecursionError, once
LOOP: list[Any] = []
LOOP.append(LOOP)  # a list that contains itself

# Every credential setting the emulator fixture sets, unset: the row's own settings decide.
NO_CREDENTIALS = {
    name: None
    for name in (
        "AKAMAI_CCU_HOST",
        "AKAMAI_CCU_CLIENT_TOKEN",
        "AKAMAI_CCU_CLIENT_SECRET",
        "AKAMAI_CCU_ACCESS_TOKEN",
        "AKAMAI_CCUAPI_USERNAME",
        "AKAMAI_CCUAPI_PASSWORD",
        "AKAMAI_CCU_API",
    )
}
EDGERC_OTHER_SECTION = (
    "[default]\nhost = akab-h.purge.akamaiapis.net\nclient_token = t\n"
    "client_secret = s\naccess_token = a\n"
)


# --- the table's vocabulary ------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    """An input that needs the database: built inside the test."""

    label: str
    make: Any

    def __repr__(self) -> str:
        return self.label


def _notes() -> Any:
    Note.objects.create(text="no url either")
    return Note.objects.all()


A_NOTE = Made("Note()", lambda: Note.objects.create(text="no url"))
NOTES = Made("Note.objects.all()", _notes)


@dataclass(frozen=True)
class In:
    """What one row hands to its door, and the settings it is handed under."""

    value: Any = None  # what to purge (Python doors)
    kwargs: dict[str, Any] = field(default_factory=dict)  # the door's keyword arguments
    argv: tuple[str, ...] = ()  # the command's arguments; FILE is the written file
    stdin: str | None = None
    file: bytes | None = None
    form: dict[str, str] = field(default_factory=dict)  # the admin page's POST
    settings: dict[str, Any] = field(default_factory=dict)
    edgerc: str | None = None  # written to a file that AKAMAI_EDGERC_FILENAME names

    def target(self) -> Any:
        return self.value.make() if isinstance(self.value, Made) else self.value

    def under(self, edgerc: str | None = None, **settings: Any) -> In:
        return replace(self, settings=settings, edgerc=edgerc)


FILE = "<file>"


def obj(value: Any, **kwargs: Any) -> In:
    return In(value=value, kwargs=kwargs)


def argv(*args: str, stdin: str | None = None, file: bytes | None = None) -> In:
    return In(argv=args, stdin=stdin, file=file)


def form(**fields: str) -> In:
    return In(form={"action": "delete", "network": "production", **fields})


def configured(edgerc: str | None = None, **settings: Any) -> In:
    return In(settings=settings, edgerc=edgerc)


@dataclass(frozen=True)
class Exit:
    """The command's exit status, and a fragment of what it says on stderr."""

    status: int
    says: str = ""


@dataclass(frozen=True)
class FormError:
    """The admin page comes back with this field's error shown on it."""

    field: str
    says: str = ""


@dataclass(frozen=True)
class AdminMessage:
    """The admin page comes back with an error message starting with this."""

    starts: str


def xfail_bug(reason: str, raises: type[BaseException]) -> Any:
    return pytest.mark.xfail(strict=True, raises=raises, reason=reason)


def row(id_: str, door: str, given: In, expected: Any, *marks: Any) -> Any:
    return pytest.param(door, given, expected, id=id_, marks=marks)


def bad_setting(
    id_: str,
    settings: dict[str, Any],
    check_id: str,
    exception: type[BaseException],
    edgerc: str | None = None,
    marks: tuple[Any, ...] = (),
) -> list[Any]:
    """Two rows for one bad configuration: ``manage.py check`` reports ``check_id``, and
    ``PurgeRequest()`` (then ``add("/a")``) raises ``exception``."""
    return [
        row(f"check-{id_}", "check", configured(edgerc, **settings), check_id, *marks),
        row(
            f"settings-{id_}",
            "PurgeRequest",
            obj("/a").under(edgerc, **settings),
            exception,
            *marks,
        ),
    ]


# --- the table -------------------------------------------------------------------------------

TABLE = [
    # PurgeRequest: add() then purge_all()
    row("none", "PurgeRequest", obj(None), NotAURL),
    row("non-utf8-bytes", "PurgeRequest", obj(b"/caf\xe9"), InvalidURL),
    row("number-in-url-purge", "PurgeRequest", obj(42), NotAURL),
    row("model-without-get_absolute_url", "PurgeRequest", obj(A_NOTE), UnsupportedPurgeObject),
    row("whitespace-in-host", "PurgeRequest", obj("https://www.exa mple.com/"), InvalidURL),
    row("tag-with-space", "PurgeRequest", obj("has space", options={"type": "tag"}), InvalidTag),
    row("cpcode-zero", "PurgeRequest", obj(0, options={"type": "cpcode"}), InvalidCPCode),
    row(
        "relative-without-base-url",
        "PurgeRequest",
        obj("/about/").under(AKAMAI_BASE_URL=None),
        NoBaseURLConfigured,
    ),
    row(
        "unknown-action",
        "PurgeRequest",
        obj("/a", options={"action": "obliterate"}),
        InvalidPurgeOptions,
    ),
    row(
        "edgerc-argument-missing-file",
        "PurgeRequest",
        obj("/a", edgerc="/nonexistent/akamai.edgerc"),
        EdgercError,
    ),
    row(
        "tags-on-ccu-v2",
        "PurgeRequest",
        obj("news", options={"type": "tag"}).under(AKAMAI_CCU_API="v2"),
        InvalidPurgeOptions,
    ),
    row("lone-surrogate", "PurgeRequest", obj("https://www.example.com/caf\udce9"), InvalidURL),
    row("cpcode-superscript", "PurgeRequest", obj("²", options={"type": "cpcode"}), InvalidCPCode),
    row("cpcode-float", "PurgeRequest", obj(1.5, options={"type": "cpcode"}), NotACPCode),
    row("options-a-list", "PurgeRequest", obj("/a", options=["delete"]), InvalidPurgeOptions),
    row("options-a-string", "PurgeRequest", obj("/a", options="delete"), InvalidPurgeOptions),
    row("options-a-number", "PurgeRequest", obj("/a", options=5), InvalidPurgeOptions),
    row("nested-5000-deep", "PurgeRequest", obj(DEEP), InvalidPurgeObject),
    row("list-containing-itself", "PurgeRequest", obj(LOOP), InvalidPurgeObject),
    # purge_request
    row("signal-none", "purge_request", obj(None), NotAURL),
    row("signal-unknown-kwarg", "purge_request", obj("/a", netwrok="staging"), TypeError),
    row("signal-dict-sender", "purge_request", obj({"url": "/a"}), UnsupportedPurgeObject),
    row("signal-model-without-url", "purge_request", obj(A_NOTE), UnsupportedPurgeObject),
    row("signal-nul-char", "purge_request", obj("https://www.example.com/a\x00b"), InvalidURL),
    row("signal-unknown-network", "purge_request", obj("/a", network="moon"), InvalidPurgeOptions),
    row("signal-cpcode-negative", "purge_request", obj([-1], type="cpcode"), InvalidCPCode),
    row(
        "signal-relative-without-base-url",
        "purge_request",
        obj(["/a", "/b"]).under(AKAMAI_BASE_URL=None),
        NoBaseURLConfigured,
    ),
    row("signal-options-a-list", "purge_request", obj("/a", options=["x"]), InvalidPurgeOptions),
    row("signal-options-a-string", "purge_request", obj("/a", options="x"), InvalidPurgeOptions),
    row("signal-nested-5000-deep", "purge_request", obj(DEEP), InvalidPurgeObject),
    row("signal-lone-surrogate", "purge_request", obj(["/ok", "/caf\udce9"]), InvalidURL),
    # queue_purge_request
    row("queue-none", "queue_purge_request", obj(None), NotAURL),
    row("queue-javascript-scheme", "queue_purge_request", obj("javascript:alert(1)"), InvalidURL),
    row(
        "queue-nbsp-whitespace",
        "queue_purge_request",
        obj("https://www.example.com/a\u00a0b"),
        InvalidURL,
    ),
    row("queue-number-in-url-purge", "queue_purge_request", obj(["/a", 3.5]), NotAURL),
    row("queue-unknown-kwarg", "queue_purge_request", obj("/a", actoin="delete"), TypeError),
    row("queue-dict-sender", "queue_purge_request", obj({"/a": 1}), UnsupportedPurgeObject),
    row("queue-queryset-without-url", "queue_purge_request", obj(NOTES), UnsupportedPurgeObject),
    row("queue-tag-star", "queue_purge_request", obj("*", type="tag"), InvalidTag),
    row("queue-oversized-url", "queue_purge_request", obj(HUGE_URL), ObjectTooLarge),
    row("queue-unknown-type", "queue_purge_request", obj("/a", type="page"), InvalidPurgeOptions),
    row("queue-options-a-number", "queue_purge_request", obj("/a", options=3), InvalidPurgeOptions),
    row("queue-nested-5000-deep", "queue_purge_request", obj(DEEP), InvalidPurgeObject),
    row("queue-cpcode-superscript", "queue_purge_request", obj("²", type="cpcode"), InvalidCPCode),
    # PurgeRequestTask.delay
    row("delay-none", "delay", obj(None), NotAURL),
    row("delay-ftp-scheme", "delay", obj("ftp://www.example.com/file"), InvalidURL),
    row("delay-missing-host", "delay", obj("https:///path"), InvalidURL),
    row("delay-del-char", "delay", obj("https://www.example.com/a\x7f"), InvalidURL),
    row("delay-model-without-url", "delay", obj([A_NOTE]), UnsupportedPurgeObject),
    row("delay-dict-sender", "delay", obj({"url": "/a"}), UnsupportedPurgeObject),
    row("delay-unknown-kwarg", "delay", obj("/a", nework="staging"), TypeError),
    row("delay-tag-129-chars", "delay", obj("t" * 129, type="tag"), InvalidTag),
    row("delay-cpcode-abc", "delay", obj("abc", type="cpcode"), InvalidCPCode),
    row("delay-unknown-action", "delay", obj("/a", action="obliterate"), InvalidPurgeOptions),
    row("delay-oversized-url", "delay", obj(HUGE_URL), ObjectTooLarge),
    row(
        "delay-relative-without-base-url",
        "delay",
        obj("/a").under(AKAMAI_BASE_URL=None),
        NoBaseURLConfigured,
    ),
    row("delay-options-a-list", "delay", obj("/a", options=["delete"]), InvalidPurgeOptions),
    row("delay-nested-5000-deep", "delay", obj(DEEP), InvalidPurgeObject),
    row("delay-list-containing-itself", "delay", obj(LOOP), InvalidPurgeObject),
    row("delay-lone-surrogate", "delay", obj("/caf\udce9"), InvalidURL),
    row("delay-cpcode-arabic-indic", "delay", obj("١٢", type="cpcode"), InvalidCPCode),
    # manage.py akamai_purge, through call_command
    row(
        "command-non-utf8-line",
        "command",
        argv("--file", FILE, file=b"/ok\n/caf\xe9\n"),
        Exit(2, ", line 2: not UTF-8 text."),
    ),
    row(
        "command-ftp-in-file",
        "command",
        argv("--file", FILE, file=b"ftp://x.example/y\n"),
        Exit(2, "only http and https"),
    ),
    row(
        "command-bell-char-on-stdin",
        "command",
        argv("-", stdin="https://www.example.com/a\x07b\n"),
        Exit(2, "stdin, line 1:"),
    ),
    row(
        "command-tab-in-argument",
        "command",
        argv("https://www.example.com/a\tb"),
        Exit(2, "argument 1:"),
    ),
    row("command-missing-host", "command", argv("https://"), Exit(2, "no host")),
    row("command-tag-star", "command", argv("--tag", "bad*"), Exit(2, "--tag value 1:")),
    row("command-cpcode-zero", "command", argv("--cpcode", "0"), Exit(2, "--cpcode value 1:")),
    row("command-cpcode-negative", "command", argv("--cpcode", "-1"), Exit(2, "positive")),
    row("command-cpcode-abc", "command", argv("--type", "cpcode", "abc"), Exit(2, "argument 1:")),
    row("command-cpcode-superscript", "command", argv("--cpcode", "²"), Exit(2, "positive")),
    row(
        "command-tag-with-spaces-is-one-tag",
        "command",
        argv("--tag", "bad tag with space"),
        Exit(2, "--tag value 1: Cache tag 'bad tag with space' has characters"),
    ),
    row(
        "command-type-tag-argument-is-one-tag",
        "command",
        argv("--type", "tag", "two,tags"),
        Exit(2, "argument 1: Cache tag 'two,tags'"),
    ),
    row(
        "command-cpcodes-in-one-argument",
        "command",
        argv("--cpcode", "12 34"),
        Exit(2, "--cpcode value 1: CP code '12 34'"),
    ),
    row("command-oversized-url", "command", argv(HUGE_URL), Exit(2, "cannot fit")),
    row(
        "command-relative-without-base-url",
        "command",
        argv("-", stdin="/a\n").under(AKAMAI_BASE_URL=None),
        Exit(2, "AKAMAI_BASE_URL"),
    ),
    row(
        "command-nothing-to-purge",
        "command",
        argv("--file", FILE, file=b"# only\n\n"),
        Exit(2, "Nothing to purge"),
    ),
    # manage.py akamai_purge as the shell runs it: argparse's own exit status
    row(
        "manage.py-unknown-network",
        "manage.py",
        argv("--network", "moon", "/a"),
        Exit(2, "invalid choice: 'moon'"),
    ),
    row(
        "manage.py-unknown-action",
        "manage.py",
        argv("--action", "obliterate", "/a"),
        Exit(2, "invalid choice: 'obliterate'"),
    ),
    # argv that is not UTF-8 reaches Python as lone surrogates (surrogateescape)
    row(
        "manage.py-undecodable-argument",
        "manage.py",
        argv("/caf\udce9"),
        Exit(2, "lone surrogate (U+DCE9"),
    ),
    row(
        "manage.py-undecodable-tag",
        "manage.py",
        argv("--tag", "caf\udce9"),
        Exit(2, "--tag value 1: Cache tag 'caf\\udce9'"),
    ),
    row(
        "manage.py-javascript-scheme",
        "manage.py",
        argv("javascript:alert(1)"),
        Exit(2, "only http and https"),
    ),
    # the admin's "Purge URLs" page
    row(
        "admin-javascript-scheme",
        "admin",
        form(urls="javascript:alert(1)"),
        FormError("urls", "Line 1:"),
    ),
    row("admin-missing-host", "admin", form(urls="/ok\nhttp://"), FormError("urls", "Line 2:")),
    row(
        "admin-control-char",
        "admin",
        form(urls="https://www.example.com/a\x01b"),
        FormError("urls", "control character"),
    ),
    row(
        "admin-relative-without-base-url",
        "admin",
        form(urls="/a").under(AKAMAI_BASE_URL=None),
        FormError("urls", "AKAMAI_BASE_URL"),
    ),
    row("admin-tag-129-chars", "admin", form(tags="t" * 129), FormError("tags", "129")),
    row("admin-tag-star", "admin", form(tags="ok *"), FormError("tags", "Line 1:")),
    row("admin-cpcode-negative", "admin", form(cpcodes="-1"), FormError("cpcodes", "-1")),
    row("admin-cpcode-abc", "admin", form(cpcodes="12 abc"), FormError("cpcodes", "abc")),
    row("admin-cpcode-superscript", "admin", form(cpcodes="²"), FormError("cpcodes", "²")),
    row(
        "admin-unknown-action",
        "admin",
        form(urls="/a", action="obliterate"),
        FormError("action", "obliterate"),
    ),
    row(
        "admin-unknown-network",
        "admin",
        form(urls="/a", network="moon"),
        FormError("network", "moon"),
    ),
    row("admin-oversized-url", "admin", form(urls=HUGE_URL), AdminMessage("Nothing was purged")),
    # settings: the system check's id, and the exception PurgeRequest raises (see bad_setting)
    *bad_setting(
        "no-credentials", NO_CREDENTIALS, "django_akamai.W001", NoAkamaiUsernameProvidedException
    ),
    *bad_setting(
        "http-to-remote-host",
        {"AKAMAI_CCU_HOST": "http://akab-x.purge.akamaiapis.net"},
        "django_akamai.E006",
        PlainHttpHostError,
    ),
    *bad_setting(
        "v2-http-to-remote-host",
        {"AKAMAI_CCU_API": "v2", "AKAMAI_CCUAPI_BASE_URL": "http://api.ccu.akamai.com"},
        "django_akamai.E006",
        PlainHttpHostError,
    ),
    *bad_setting(
        "path-in-host",
        {"AKAMAI_CCU_HOST": "akab-x.purge.akamaiapis.net/ccu/v3"},
        "django_akamai.E004",
        InvalidHostError,
    ),
    *bad_setting(
        "missing-password",
        {**NO_CREDENTIALS, "AKAMAI_CCUAPI_USERNAME": "ccu-user"},
        "django_akamai.E004",
        NoAkamaiPasswordProvidedException,
    ),
    *bad_setting(
        "unknown-api", {"AKAMAI_CCU_API": "v9"}, "django_akamai.E004", InvalidPurgeOptions
    ),
    *bad_setting(
        "edgerc-missing-section",
        NO_CREDENTIALS,
        "django_akamai.E002",
        EdgercError,
        edgerc=EDGERC_OTHER_SECTION,
    ),
    *bad_setting(
        "unknown-network-option",
        {"AKAMAI_PURGE_OPTIONS": {"network": "moon"}},
        "django_akamai.E005",
        InvalidPurgeOptions,
    ),
    *bad_setting(
        "base-url-with-path",
        {"AKAMAI_BASE_URL": "https://www.example.com/blog"},
        "django_akamai.E007",
        AkamaiConfigurationError,
    ),
    *bad_setting(
        "host-port-not-a-number",
        {"AKAMAI_CCU_HOST": "h:notaport"},
        "django_akamai.E004",
        InvalidHostError,
    ),
    *bad_setting(
        "host-scheme-without-slashes",
        {"AKAMAI_CCU_HOST": "http:evil.com"},
        "django_akamai.E004",
        InvalidHostError,
    ),
    *bad_setting(
        "loopback-host-without-scheme",
        {"AKAMAI_CCU_HOST": "localhost:8765"},
        "django_akamai.E004",
        InvalidHostError,
    ),
    *bad_setting(
        "access-token-with-zero-width-space",
        {"AKAMAI_CCU_ACCESS_TOKEN": "akab-access-token\u200b"},
        "django_akamai.E004",
        AkamaiConfigurationError,
    ),
    *bad_setting(
        "v2-password-with-control-character",
        {**NO_CREDENTIALS, "AKAMAI_CCUAPI_USERNAME": "u", "AKAMAI_CCUAPI_PASSWORD": "p\x1b"},
        "django_akamai.E004",
        AkamaiConfigurationError,
    ),
    *bad_setting(
        "retries-not-a-number",
        {"AKAMAI_MAX_RETRIES": "eight"},
        "django_akamai.E011",
        AkamaiConfigurationError,
    ),
    *bad_setting(
        "negative-read-timeout",
        {"AKAMAI_READ_TIMEOUT": -1},
        "django_akamai.E011",
        AkamaiConfigurationError,
    ),
    *bad_setting(
        "base-url-a-number",
        {"AKAMAI_BASE_URL": 5},
        "django_akamai.E007",
        AkamaiConfigurationError,
    ),
    row(
        "check-misspelt-setting",
        "check",
        configured(AKAMAI_PURGE_MODEL={"testapp.Article": {}}),
        "django_akamai.W004",
    ),
    row(
        "check-negative-history-bound",
        "check",
        configured(AKAMAI_HISTORY_MAX_OBJECTS=-1),
        "django_akamai.E009",
    ),
]


# --- the doors -------------------------------------------------------------------------------


def send_purge_request(given: In) -> None:
    request = PurgeRequest(**given.kwargs)
    request.add(given.target())
    request.purge_all()


PYTHON_DOORS = {
    "PurgeRequest": send_purge_request,
    "purge_request": lambda given: purge_request.send(given.target(), **given.kwargs),
    "queue_purge_request": lambda given: queue_purge_request.send(given.target(), **given.kwargs),
    "delay": lambda given: PurgeRequestTask.delay(given.target(), **given.kwargs),
}


@pytest.fixture
def door_context(akamai_emulator, memory_app, settings, tmp_path, capsys):
    """Everything a row needs; the broker's queue starts empty."""
    published(memory_app)  # drop anything an earlier test left on the in-memory transport
    return {
        "emu": akamai_emulator,
        "app": memory_app,
        "settings": settings,
        "tmp_path": tmp_path,
        "capsys": capsys,
    }


def prepare(given: In, ctx: dict[str, Any]) -> In:
    """Apply the row's settings and write its files; return the input with paths filled in."""
    settings = ctx["settings"]
    for name, value in given.settings.items():
        setattr(settings, name, value)
    if given.edgerc is not None:
        path = ctx["tmp_path"] / "edgerc"
        path.write_text(given.edgerc)
        settings.AKAMAI_EDGERC_FILENAME = str(path)
    if given.file is not None:
        path = ctx["tmp_path"] / "objects.txt"
        path.write_bytes(given.file)
        given = replace(given, argv=tuple(str(path) if a == FILE else a for a in given.argv))
    return given


def run_manage_py(args: tuple[str, ...], capsys: Any) -> tuple[int, str, str]:
    """``manage.py akamai_purge ARGS`` as the shell runs it: (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        Command().run_from_argv(["manage.py", "akamai_purge", *args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def post_purge_page(data: dict[str, str]) -> Any:
    client = Client()
    client.force_login(staff("purger", "purge_cache"))
    return client.post(PURGE_URL, data)


def check_row(door: str, given: In, expected: Any, ctx: dict[str, Any]) -> None:
    """Hand ``given`` to ``door`` and assert the specific refusal ``expected``."""
    if door in PYTHON_DOORS:
        with pytest.raises(expected) as info:
            PYTHON_DOORS[door](given)
        assert type(info.value) is expected, f"{type(info.value).__name__}: {info.value}"
    elif door in ("command", "manage.py"):
        if door == "command":
            code, out, err = run(*given.argv, stdin=given.stdin)
        else:
            code, out, err = run_manage_py(given.argv, ctx["capsys"])
        assert (code, expected.says in err) == (expected.status, True), err
    elif door == "admin":
        response = post_purge_page(given.form)
        assert response.status_code == 200
        if isinstance(expected, FormError):
            errors = response.context["form"].errors.get(expected.field, [])
            assert any(expected.says in error for error in errors), errors
            page = response.content.decode()
            assert all(html.escape(error) in page for error in errors)
        else:
            assert any(m.startswith(expected.starts) for m in messages_of(response))
    elif door == "check":
        assert check_ids() == [expected]
    else:
        raise AssertionError(f"unknown door {door!r}")


@pytest.mark.parametrize("door, given, expected", TABLE)
def test_bad_input_is_refused_and_nothing_is_sent(door, given, expected, door_context):
    check_row(door, prepare(given, door_context), expected, door_context)
    assert door_context["emu"].counters["requests"] == 0
    assert published(door_context["app"]) == []


def test_the_table_covers_every_door():
    doors = {param.values[0] for param in TABLE}
    assert doors == {*PYTHON_DOORS, "command", "manage.py", "admin", "check"}
    assert len(TABLE) >= 30


# --- the same doors do send a good input -------------------------------------------------------


GOOD = {
    "PurgeRequest": obj("/good"),
    "purge_request": obj("/good"),
    "queue_purge_request": obj("/good"),
    "delay": obj("/good"),
    "command": argv("/good"),
    "manage.py": argv("/good"),
    "admin": form(urls="/good"),
}


@pytest.mark.parametrize("door", GOOD)
def test_every_door_sends_a_good_input(door, door_context):
    given = GOOD[door]
    emu, app = door_context["emu"], door_context["app"]
    if door in PYTHON_DOORS:
        PYTHON_DOORS[door](given)
    elif door == "command":
        assert run(*given.argv)[0] == 0
    elif door == "manage.py":
        assert run_manage_py(given.argv, door_context["capsys"])[0] == 0
    else:
        assert post_purge_page(given.form).status_code == 302
    queued = door in ("queue_purge_request", "delay")
    assert emu.counters["requests"] == (0 if queued else 1)
    assert len(published(app)) == (1 if queued else 0)
    assert check_ids() == []  # the settings the table's rows start from pass the checks
