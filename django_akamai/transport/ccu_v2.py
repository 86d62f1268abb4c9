"""CCU REST API v2 over HTTP Basic auth (retired by Akamai; kept for the original's API)."""

from __future__ import annotations

import base64
from typing import Any

import requests

from ..conf import BasicCredentials, Secret
from ..options import PurgeOptions
from .base import HttpTransport

QUEUE_PATH = "/ccu/v2/queues/default"


class BasicAuth(requests.auth.AuthBase):
    """HTTP Basic authentication whose header is built once and held as a ``Secret``.

    Unlike a ``(username, password)`` tuple, nothing here shows the password: no repr, no
    local variable of requests' frames on a debug page. The credentials are encoded as UTF-8
    (RFC 7617's charset), where requests' Latin-1 raised a UnicodeEncodeError quoting the
    password for any other character (``€``).
    """

    def __init__(self, username: str, password: Secret):
        self.username = username
        pair = f"{username}:{password.reveal()}".encode()
        self._header = Secret("Basic " + base64.b64encode(pair).decode("ascii"))

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header.reveal()
        return request

    def __repr__(self) -> str:
        return f"<BasicAuth {self.username!r}:********>"


class CcuV2Transport(HttpTransport):
    api = "v2"
    #: The original django-akamai sent at most 200 objects a CCU v2 request.
    default_max_objects = 200

    def __init__(self, credentials: BasicCredentials, **kwargs: Any):
        super().__init__(credentials.base_url, credentials, **kwargs)

    @staticmethod
    def make_auth(credentials: BasicCredentials) -> BasicAuth:
        return BasicAuth(credentials.username, credentials.password)

    @classmethod
    def extra_body_fields(cls, options: PurgeOptions) -> dict[str, Any]:
        return options.v2()

    @classmethod
    def purge_path(cls, options: PurgeOptions) -> str:
        return QUEUE_PATH

    def purge_status(self, progress_uri: str) -> dict[str, Any]:
        path = progress_uri if progress_uri.startswith("/") else "/" + progress_uri
        return self.decoded(self.request("GET", path), "GET", path)

    def queue_length(self) -> dict[str, Any]:
        return self.decoded(self.request("GET", QUEUE_PATH), "GET", QUEUE_PATH)
