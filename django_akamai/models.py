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
    rate_limited = models.PositiveIntegerField(
        "429s", default=0, help_text="Rate-limit answers waited out before this request's end."
    )
    retries = models.PositiveIntegerField(
        default=0, help_text="Transient failures (timeouts, 5xx) retried within this request."
    )
    # Verification at the edge (django_akamai.verification, AKAMAI_VERIFY): the outcome of
    # this request's sample of URLs.
    VERIFY_STATES = [
        ("", "not verified"),
        ("pending", "purged again, checking"),
        ("done", "verified"),
    ]
    verify_state = models.CharField(
        "verification", max_length=16, choices=VERIFY_STATES, blank=True, default=""
    )
    verified_at = models.DateTimeField(null=True, blank=True, db_index=True)
    verified_fresh = models.PositiveIntegerField("fresh", null=True, blank=True)
    verified_stale = models.PositiveIntegerField("stale", null=True, blank=True)
    verified_unverifiable = models.PositiveIntegerField("unverifiable", null=True, blank=True)
    verify_repurged = models.PositiveIntegerField(
        "purged again", default=0, help_text="Stale URLs purged once more and checked again."
    )
    verify_latency = models.FloatField(
        "commit to fresh (s)",
        null=True,
        blank=True,
        help_text="From the change's commit to the last URL of the sample verified fresh.",
    )
    verify_stale_urls = models.TextField(
        "stale URLs", blank=True, help_text="Still stale after a second purge and check."
    )
    verify_details = models.TextField("verdicts", blank=True)

    class Meta:
        verbose_name = "purge record"
        verbose_name_plural = "purge history"
        ordering = ["-created_at", "-id"]
        permissions = [
            ("purge_cache", "Can purge Akamai's cache"),
            ("purge_everything", "Can purge everything (the site's CP codes) from Akamai"),
        ]

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


class StatusPage(PurgeRecord):
    """No table: gives the "Akamai" status page its entry on the admin index."""

    class Meta:
        proxy = True
        verbose_name = "Akamai status"
        verbose_name_plural = "Akamai status"
        default_permissions = ()


def stored_object(object_type: str, value: str) -> str | int:
    """An intent's object from its ``value`` column: CP codes are stored as text."""
    return int(value) if object_type == "cpcode" else value


class PurgeIntent(models.Model):
    """One object waiting to be purged: written in the caller's transaction, removed once
    Akamai accepted it (``django_akamai.intents`` records, ``django_akamai.deliver`` sends).

    Identical pending intents (same object, type, action and network) are stored once: the
    partial unique index is on ``key``, a hash, because URLs can be far longer than a btree
    index entry may be. Intents being delivered are ``claimed`` and leave that index, so a
    change committed while its object is in flight records a new intent instead of merging
    into one that may already be answered.
    """

    PENDING = "pending"
    CLAIMED = "claimed"
    FAILED = "failed"
    STATUS_CHOICES = [(PENDING, "pending"), (CLAIMED, "being delivered"), (FAILED, "failed")]

    key = models.CharField(max_length=64, help_text="SHA-256 of type, action, network, object.")
    object_type = models.CharField("type", max_length=16)
    action = models.CharField(max_length=16)
    network = models.CharField(max_length=16)
    value = models.TextField("object")
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField("next attempt", null=True, blank=True)
    created_at = models.DateTimeField("recorded at")
    actor = models.CharField("requested by", max_length=200, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    http_status = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    error_title = models.CharField("title", max_length=300, blank=True)
    error_detail = models.TextField("detail", blank=True)
    support_id = models.CharField("supportId", max_length=100, blank=True)

    class Meta:
        verbose_name = "purge intent"
        verbose_name_plural = "purge intents"
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="akamai_intent_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(status="pending"),
                name="akamai_one_pending_intent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.value[:200]} ({self.status})"

    @property
    def object(self) -> str | int:
        """The object as sent to Akamai (CP codes are integers)."""
        return stored_object(self.object_type, self.value)


class DeliveryLease(models.Model):
    """Who may send to one Akamai account now, until when; and what its buckets held.

    Taken with a compare-and-set UPDATE (``django_akamai.leases``): one deliverer per account
    at a time, on every database. A holder that dies stops renewing and its lease expires.
    ``bucket_state`` keeps the last rate-limit headers seen, so the next holder paces from them
    instead of learning the limits through 429s.
    """

    name = models.CharField(max_length=200, unique=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    bucket_state = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "delivery lease"

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or 'free'}"
