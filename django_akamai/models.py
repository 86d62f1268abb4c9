"""The purge history: one row per request sent to Akamai, accepted or refused."""

from __future__ import annotations

from django.db import models


class PurgeRecord(models.Model):
    """One purge request sent to Akamai, written by ``django_akamai.history``.

    ``objects_text`` holds the objects one per line, at most ``AKAMAI_HISTORY_MAX_OBJECTS``
    of them (``object_count`` is always the full number), so a row stays small and the admin
    can search it for a URL.
    """

    ACCEPTED = "accepted"
    FAILED = "failed"
    STATUS_CHOICES = [(ACCEPTED, "accepted"), (FAILED, "failed")]

    created_at = models.DateTimeField("sent at", db_index=True)
    actor = models.CharField(
        "requested by",
        max_length=200,
        blank=True,
        help_text="The admin user, the command or the task that asked for it.",
    )
    api = models.CharField("API", max_length=8)
    action = models.CharField(max_length=16)
    network = models.CharField(max_length=16)
    object_type = models.CharField("type", max_length=16)
    object_count = models.PositiveIntegerField("objects")
    objects_text = models.TextField("objects sent", blank=True)
    objects_truncated = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, db_index=True)
    http_status = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    purge_id = models.CharField("purgeId", max_length=100, blank=True, db_index=True)
    support_id = models.CharField("supportId", max_length=100, blank=True)
    estimated_seconds = models.FloatField("estimated seconds", null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "purge record"
        verbose_name_plural = "purge history"
        ordering = ["-created_at", "-id"]
        permissions = [("purge_cache", "Can purge Akamai's cache")]

    def __str__(self) -> str:
        ident = self.purge_id or self.http_status or self.status
        return (
            f"{self.action} {self.object_count} {self.object_type}(s) on {self.network} ({ident})"
        )

    @property
    def object_list(self) -> list[str]:
        return self.objects_text.splitlines()


class PurgePage(PurgeRecord):
    """No table: gives the "Purge URLs" page its entry on the admin index."""

    class Meta:
        proxy = True
        verbose_name = "Purge URLs"
        verbose_name_plural = "Purge URLs"
        default_permissions = ()
