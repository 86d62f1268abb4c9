"""CCU REST API v2 over HTTP Basic auth (retired by Akamai; kept for the original's API)."""

from __future__ import annotations

from typing import Any

from ..conf import BasicCredentials
from ..objects import PurgeOptions
from .base import HttpTransport

QUEUE_PATH = "/ccu/v2/queues/default"


class CcuV2Transport(HttpTransport):
    api = "v2"
    #: The original django-akamai sent at most 200 objects a CCU v2 request.
    default_max_objects = 200

    def __init__(self, credentials: BasicCredentials, **kwargs: Any):
        super().__init__(
            credentials.base_url, (credentials.username, credentials.password), **kwargs
        )

    @classmethod
    def extra_body_fields(cls, options: PurgeOptions) -> dict[str, Any]:
        return options.v2()

    @classmethod
    def purge_path(cls, options: PurgeOptions) -> str:
        return QUEUE_PATH

    def purge_status(self, progress_uri: str) -> dict[str, Any]:
        path = progress_uri if progress_uri.startswith("/") else "/" + progress_uri
        return self.request("GET", path).json()

    def queue_length(self) -> dict[str, Any]:
        return self.request("GET", QUEUE_PATH).json()
