"""Admin tools: the "Purge from Akamai" action, the "Purge URLs" page, the purge history and
the purge intents (pending and failed, with "retry" and "discard" actions).

Add the action to any ``ModelAdmin`` whose model has ``get_absolute_url()``::

    from django_akamai.admin import AkamaiPurgeAdminMixin

    @admin.register(Article)
    class ArticleAdmin(AkamaiPurgeAdminMixin, admin.ModelAdmin):
        ...

Both the action and the page need the ``django_akamai.purge_cache`` permission.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.html import format_html

from . import delivery
from .exceptions import shown
from .models import PurgeIntent, PurgePage, PurgeRecord, StatusPage
from .views import (
    has_purge_permission,
    has_status_permission,
    purge_and_report,
    purge_page,
    status_page,
)


@admin.action(description="Purge from Akamai", permissions=["akamai_purge"])
def purge_from_akamai(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> None:
    """Purge the selected objects' URLs (``get_absolute_url()``) and report as messages."""
    # Django hides the action without the permission; check again for a forged POST.
    if not has_purge_permission(request.user):
        raise PermissionDenied
    get_objects = getattr(modeladmin, "get_akamai_purge_objects", None)
    objects = get_objects(request, queryset) if get_objects else queryset
    options = dict(getattr(modeladmin, "akamai_purge_options", None) or {})
    object_type = options.pop("type", "url")
    purge_and_report(request, {object_type: objects}, options, planned=False)


class AkamaiPurgeAdminMixin:
    """Adds the "Purge from Akamai" action to a ``ModelAdmin``, for users with permission.

    ``akamai_purge_options`` (e.g. ``{"action": "invalidate"}``) overrides
    ``AKAMAI_PURGE_OPTIONS`` for this admin; override ``get_akamai_purge_objects()`` to purge
    something other than each object's ``get_absolute_url()`` (more URLs, or cache tags with
    ``akamai_purge_options = {"type": "tag"}``).
    """

    akamai_purge_options: dict[str, Any] | None = None
    actions: Any  # ModelAdmin's, which this mixin is combined with

    def has_akamai_purge_permission(self, request: HttpRequest) -> bool:
        return has_purge_permission(request.user)

    def get_akamai_purge_objects(self, request: HttpRequest, queryset: QuerySet) -> Any:
        return queryset

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        # Django 6.1 passes action_location (and warns about overrides without it); 5.2 and
        # 6.0 call get_actions(request).
        extra = {} if action_location is None else {"action_location": action_location}
        actions = super().get_actions(request, **extra)  # type: ignore[misc]
        # Added here rather than in ``actions`` so a subclass's own list cannot drop it.
        if (
            self.actions is not None
            and IS_POPUP_VAR not in request.GET
            and "purge_from_akamai" not in actions
            and self.has_akamai_purge_permission(request)
        ):
            actions["purge_from_akamai"] = (
                purge_from_akamai,
                "purge_from_akamai",
                purge_from_akamai.short_description,  # type: ignore[attr-defined]  # @admin.action
            )
        return actions


@admin.register(PurgeRecord)
class PurgeRecordAdmin(admin.ModelAdmin):
    """The purge history, read-only."""

    # Few columns, so that the list fits 1280 pixels beside its filters.
    list_display = (
        "created_at",
        "status_badge",
        "what",
        "first_object",
        "purge_id",
        "actor",
        "verified",
    )
    list_filter = (
        "status",
        "verify_state",
        "network",
        "action",
        "object_type",
        "api",
        "account",
        "created_at",
    )
    search_fields = ("objects_text", "purge_id", "support_id")
    date_hierarchy = "created_at"
    list_per_page = 50
    fields = (
        "created_at",
        "actor",
        "status",
        "http_status",
        "api",
        "account",
        "action",
        "network",
        "object_type",
        "object_count",
        "purge_id",
        "shown_support_id",
        "estimated_seconds",
        "rate_limited",
        "retries",
        "shown_error",
        "objects_text",
        "objects_truncated",
        # Verification at the edge (AKAMAI_VERIFY).
        "verify_state",
        "verified_at",
        "verified_fresh",
        "verified_stale",
        "verified_unverifiable",
        "verify_repurged",
        "verify_latency",
        "verify_stale_urls",
        "verify_details",
    )
    readonly_fields = fields

    @admin.display(description="status", ordering="status")
    def status_badge(self, record: PurgeRecord) -> str:
        if record.status == PurgeRecord.ACCEPTED:
            return "accepted"
        return format_html(
            "<strong>failed</strong>{}", f" ({record.http_status})" if record.http_status else ""
        )

    # Akamai's text escaped (exceptions.shown): control characters cannot disguise it.
    @admin.display(description="supportId")
    def shown_support_id(self, record: PurgeRecord) -> str:
        return shown(record.support_id)

    @admin.display(description="error")
    def shown_error(self, record: PurgeRecord) -> str:
        return shown(record.error)

    @admin.display(description="purge", ordering="object_count")
    def what(self, record: PurgeRecord) -> str:
        return f"{record.action} {record.object_count} {record.object_type}(s) on {record.network}"

    @admin.display(description="first object")
    def first_object(self, record: PurgeRecord) -> str:
        first = record.objects_text.split("\n", 1)[0]
        more = record.object_count - 1
        return f"{first[:60]}{' …' if len(first) > 60 else ''}" + (
            f" (+{more})" if more > 0 else ""
        )

    @admin.display(description="verified at the edge", ordering="verify_state")
    def verified(self, record: PurgeRecord) -> str:
        if not record.verify_state:
            return "–"
        counts = f"{record.verified_fresh or 0} fresh, {record.verified_stale or 0} stale, "
        counts += f"{record.verified_unverifiable or 0} unverifiable"
        if record.verify_state == "pending":
            return f"{counts}; checking again"
        if record.verified_stale:
            return format_html("<strong>{}</strong>", counts)
        return counts

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {"can_purge": has_purge_permission(request.user), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Whoever may purge may see what was purged.
        return super().has_view_permission(request, obj) or has_purge_permission(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # records are pruned by age: manage.py akamai_prune_history


class SinglePageAdmin(admin.ModelAdmin):
    """An admin index entry whose only page is a view of ours (no table to change).

    Subclasses give ``page_view(request, model_admin)`` and ``may_view(user)``.
    """

    page_view: Any = None
    may_view: Any = None

    def get_urls(self) -> list:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name="{}_{}_changelist".format(*info),
            )
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return type(self).page_view(request, self)

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        # Shown on the index (as a "view" link) only to users who may see the page.
        allowed = type(self).may_view(request.user)
        return {"add": False, "change": False, "delete": False, "view": allowed}

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return type(self).may_view(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PurgePage)
class PurgePageAdmin(SinglePageAdmin):
    """The "Purge URLs" entry on the admin index; its only page is the purge form."""

    page_view = staticmethod(purge_page)
    may_view = staticmethod(has_purge_permission)


@admin.register(PurgeIntent)
class PurgeIntentAdmin(admin.ModelAdmin):
    """Purge intents: what waits for delivery, and what Akamai refused, with its reason.

    Read-only; users who may purge can retry failed intents (after fixing the cause) or
    discard them. An intent that could not even be planned (its ``action`` is empty) can only
    be discarded: save its object again to purge it.
    """

    list_display = (
        "created_at",
        "status",
        "object_type",
        "short_value",
        "action",
        "network",
        "attempts",
        "next_attempt_at",
        "http_status",
        "shown_error_title",
        "actor",
    )
    list_filter = ("status", "object_type", "action", "network", "http_status")
    search_fields = ("value", "support_id", "error_detail")
    date_hierarchy = "created_at"
    list_per_page = 100
    actions = ["retry_intents", "discard_intents"]
    fields = (
        "status",
        "object_type",
        "action",
        "network",
        "value",
        "created_at",
        "actor",
        "attempts",
        "next_attempt_at",
        "claimed_by",
        "http_status",
        "shown_error_title",
        "shown_error_detail",
        "shown_support_id",
    )
    readonly_fields = fields

    # Akamai's text escaped (exceptions.shown): control characters cannot disguise it.
    @admin.display(description="title", ordering="error_title")
    def shown_error_title(self, intent: PurgeIntent) -> str:
        return shown(intent.error_title)

    @admin.display(description="detail")
    def shown_error_detail(self, intent: PurgeIntent) -> str:
        return shown(intent.error_detail)

    @admin.display(description="supportId")
    def shown_support_id(self, intent: PurgeIntent) -> str:
        return shown(intent.support_id)

    @admin.display(description="object", ordering="value")
    def short_value(self, intent: PurgeIntent) -> str:
        return intent.value if len(intent.value) <= 120 else intent.value[:120] + " …"

    def has_akamai_purge_permission(self, request: HttpRequest) -> bool:
        return has_purge_permission(request.user)

    @admin.action(description="Retry the selected failed intents", permissions=["akamai_purge"])
    def retry_intents(self, request: HttpRequest, queryset: QuerySet) -> None:
        if not has_purge_permission(request.user):  # a forged POST
            raise PermissionDenied
        using = queryset.db
        ids = list(queryset.values_list("id", flat=True))
        retried = delivery.retry_failed(ids, using=using)
        skipped = len(ids) - retried
        if retried:
            delivery.kick(using)
        self.message_user(
            request,
            f"{retried} failed intent(s) will be delivered again."
            + (f" {skipped} skipped (not failed, or never planned)." if skipped else ""),
            messages.SUCCESS if retried else messages.WARNING,
        )

    @admin.action(description="Discard the selected failed intents", permissions=["akamai_purge"])
    def discard_intents(self, request: HttpRequest, queryset: QuerySet) -> None:
        if not has_purge_permission(request.user):
            raise PermissionDenied
        ids = list(queryset.values_list("id", flat=True))
        discarded = delivery.discard_failed(ids, using=queryset.db)
        skipped = len(ids) - discarded
        self.message_user(
            request,
            f"{discarded} failed intent(s) discarded."
            + (f" {skipped} skipped (still pending: not failed)." if skipped else ""),
            messages.SUCCESS if discarded else messages.WARNING,
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or has_purge_permission(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the "discard" action, for failed intents only


@admin.register(StatusPage)
class StatusPageAdmin(SinglePageAdmin):
    """The "Akamai status" entry on the admin index: the pipeline's backlog, the last day."""

    page_view = staticmethod(status_page)
    may_view = staticmethod(has_status_permission)
