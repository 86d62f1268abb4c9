"""Fast Purge v3 over EdgeGrid: ``POST /ccu/v3/{action}/{type}/{network}``."""

from __future__ import annotations

import logging
import re
from typing import Any

from akamai.edgegrid import EdgeGridAuth

from ..conf import EdgeGridCredentials
from ..options import PurgeOptions
from .base import HttpTransport


class _RedactEdgeGridSecrets(logging.Filter):
    """edgegrid-python logs the signed Authorization header (with the access token) and the
    secret-derived signing key at DEBUG; keep the former redacted and the latter out."""

    _TOKEN = re.compile(r"(access_token=)[^;\s]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("signing key"):
            return False
        if "access_token=" in message:
            record.msg, record.args = self._TOKEN.sub(r"\1<redacted>", message), None
        return True


logging.getLogger("akamai.edgegrid.edgegrid").addFilter(_RedactEdgeGridSecrets())


class FastPurgeTransport(HttpTransport):
    api = "v3"

    def __init__(self, credentials: EdgeGridCredentials, **kwargs: Any):
        super().__init__(credentials.host, credentials, **kwargs)

    @staticmethod
    def make_auth(credentials: EdgeGridCredentials) -> EdgeGridAuth:
        return EdgeGridAuth(
            client_token=credentials.client_token,
            client_secret=credentials.client_secret.reveal(),
            access_token=credentials.access_token.reveal(),
            headers_to_sign=credentials.headers_to_sign,
            max_body=credentials.max_body,
        )

    @classmethod
    def purge_path(cls, options: PurgeOptions) -> str:
        return f"/ccu/v3/{options.action}/{options.type}/{options.network}"
