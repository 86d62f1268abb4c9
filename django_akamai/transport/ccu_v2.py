"""CCU REST API v2 over HTTP Basic auth (retired by Akamai; kept for the original's API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..batching import encode_body, envelope_size
from ..conf import BasicCredentials
from ..objects import PurgeOptions
from .base import HttpTransport

QUEUE_PATH = "/ccu/v2/queues/default"


class CcuV2Transport(HttpTransport):
    api = "v2"

    def __init__(self, credentials: BasicCredentials, **kwargs: Any):
        super().__init__(credentials.base_url, credentials, **kwargs)

    @staticmethod
    def make_auth(credentials: BasicCredentials) -> tuple[str, str]:
        return (credentials.username, credentials.password)

    @staticmethod
    def envelope(options: PurgeOptions) -> int:
        return envelope_size(options.v2())

    def send_purge(self, objects: Sequence[Any], options: PurgeOptions) -> dict[str, Any]:
        body = encode_body({"objects": list(objects), **options.v2()})
        response = self.request(
            "POST", QUEUE_PATH, body=body, objects=objects, object_type=options.type
        )
        return response.json()

    def purge_status(self, progress_uri: str) -> dict[str, Any]:
        path = progress_uri if progress_uri.startswith("/") else "/" + progress_uri
        return self.request("GET", path).json()

    def queue_length(self) -> dict[str, Any]:
        return self.request("GET", QUEUE_PATH).json()
