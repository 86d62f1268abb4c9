"""django-akamai in the Wagtail admin: the purge history, the purge intents, the status, and
"Purge from CDN" for a page or its subtree.

Wagtail's own views and templates (report listings with filters and pagination, the admin's
header, breadcrumbs and messages), so a Wagtail team never needs the Django admin. Every
view needs the ``django_akamai.purge_cache`` permission (the one of the Django admin's
purge tools), except the history and the status, which ``view_purgerecord`` may also read.
Retrying and discarding go through ``django_akamai.delivery``, purging through the
``AkamaiBackend`` s of ``WAGTAILFRONTENDCACHE``, like every other Wagtail purge.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import router, transaction
from django.db.models import Case, When
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.views.generic import TemplateView, View
from wagtail.admin import messages
from wagtail.admin.auth import permission_denied
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.paginator import WagtailPaginator
from wagtail.admin.ui.tables import Column, DateColumn, NumberColumn
from wagtail.admin.views.generic import WagtailAdminTemplateMixin
from wagtail.admin.views.reports import ReportView

from ... import delivery, status, switches
from ...models import PurgeIntent, PurgeRecord
from .pages import live_subtree, page_model, tree_tag
from .signal_handlers import akamai_backends
from .troubles import describe

PURGE_PERMISSION = "django_akamai.purge_cache"
#: How much of a failed request's error the history's table shows.
ANSWER_SHOWN = 90
VIEW_HISTORY_PERMISSION = "django_akamai.view_purgerecord"
NAMESPACE = "django_akamai_wagtail"


def can_purge(user: Any) -> bool:
    """Whether ``user`` may purge, retry and discard (``purge_cache``)."""
    return bool(user and user.is_active and user.has_perm(PURGE_PERMISSION))


def can_watch(user: Any) -> bool:
    """Whether ``user`` may read the history and the status."""
    return can_purge(user) or bool(
        user and user.is_active and user.has_perm(VIEW_HISTORY_PERMISSION)
    )


def wagtail_actor(request: HttpRequest) -> str:
    """``wagtail:<username>``: who asked, for the purge history."""
    return f"wagtail:{request.user.get_username()}"


class _Guarded:
    """Refuses users without the permission, as Wagtail's admin does (message, home page);
    names the view after Home in the breadcrumbs."""

    allowed = staticmethod(can_watch)
    breadcrumbs_items = [{"url": reverse_lazy("wagtailadmin_home"), "label": "Home"}]
    page_title = ""

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not self.allowed(request.user):
            return permission_denied(request)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


# --- the purge history ----------------------------------------------------------------------


class HistoryFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(choices=PurgeRecord.STATUS_CHOICES)
    object_type = django_filters.ChoiceFilter(
        label="Type", choices=[("url", "url"), ("tag", "tag"), ("cpcode", "cpcode")]
    )
    objects_text = django_filters.CharFilter(label="Object contains", lookup_expr="icontains")

    class Meta:
        model = PurgeRecord
        fields = ["status", "object_type", "objects_text"]


def _objects_shown(record: PurgeRecord) -> str:
    objects = record.object_list
    more = record.object_count - min(len(objects), 3)
    return ", ".join(objects[:3]) + (f" (+{more} more)" if more > 0 else "")


def _answer(record: PurgeRecord) -> str:
    # The first words of the error (which quotes Akamai's title and detail), so the table
    # fits a laptop's screen; the export has it whole.
    return Truncator(record.error).chars(ANSWER_SHOWN) if record.error else ""


class _RequestsPaginator(WagtailPaginator):
    """Counts "3 purge requests", not the model's "3 purge history"."""

    verbose_name = "purge request"
    verbose_name_plural = "purge requests"


class HistoryView(_Guarded, ReportView):
    """Every request sent to Akamai, newest first (``AKAMAI_HISTORY``)."""

    page_title = "Akamai purge history"
    verbose_name = "purge request"
    verbose_name_plural = "purge requests"
    paginator_class = _RequestsPaginator
    header_icon = "history"
    index_url_name = f"{NAMESPACE}:history"
    index_results_url_name = f"{NAMESPACE}:history_results"
    filterset_class = HistoryFilterSet
    columns = [
        DateColumn("created_at", label="Sent at"),
        Column("status", label="Status"),
        Column("action", label="Action"),
        Column("object_type", label="Type"),
        NumberColumn("object_count", label="Objects"),
        Column("objects_shown", label="Objects sent", accessor=_objects_shown),
        Column("purge_id", label="purgeId"),
        Column("actor", label="Requested by"),
        Column("error", label="Akamai's answer", accessor=_answer),
    ]
    list_export = [
        "created_at",
        "status",
        "action",
        "network",
        "object_type",
        "object_count",
        "objects_text",
        "purge_id",
        "support_id",
        "actor",
        "http_status",
        "error",
    ]

    def get_queryset(self) -> Any:
        return PurgeRecord.objects.using(router.db_for_read(PurgeRecord)).order_by(
            "-created_at", "-id"
        )

    def get_filename(self) -> str:
        return f"akamai-purge-history-{timezone.now():%Y-%m-%d}"


# --- the purge intents ------------------------------------------------------------------------


class IntentFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(choices=PurgeIntent.STATUS_CHOICES)

    class Meta:
        model = PurgeIntent
        fields = ["status"]


class IntentsView(_Guarded, ReportView):
    """What waits to be purged, and what Akamai refused (to retry or discard)."""

    page_title = "Akamai purge intents"
    verbose_name = "purge intent"
    verbose_name_plural = "purge intents"
    header_icon = "warning"
    index_url_name = f"{NAMESPACE}:intents"
    index_results_url_name = f"{NAMESPACE}:intents_results"
    results_template_name = "django_akamai_wagtail/intents_results.html"
    filterset_class = IntentFilterSet
    allowed = staticmethod(can_purge)

    def get_queryset(self) -> Any:
        # Failed first: they are the ones waiting for someone.
        failed_first = Case(When(status=PurgeIntent.FAILED, then=0), default=1)
        return (
            PurgeIntent.objects.using(router.db_for_read(PurgeIntent))
            .annotate(failed_first=failed_first)
            .order_by("failed_first", "id")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        for intent in context["object_list"]:
            intent.answer = describe(intent) if intent.attempts or intent.http_status else ""
        context["act_url"] = reverse(f"{NAMESPACE}:intents_act")
        return context


class IntentsActionView(_Guarded, View):
    """POST ``action``: ``retry`` or ``discard`` the failed intents of ``ids``, or
    ``retry_all`` of them."""

    allowed = staticmethod(can_purge)
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        action = request.POST.get("action", "")
        using = router.db_for_write(PurgeIntent)
        failed = PurgeIntent.objects.using(using).filter(status=PurgeIntent.FAILED)
        if action == "retry_all":
            action = "retry"
        else:
            ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
            failed = failed.filter(id__in=ids)
        ids = list(failed.values_list("id", flat=True))
        if action in ("retry", "discard") and not ids:
            messages.warning(request, "No failed purge selected.")
        elif action == "retry":
            done = delivery.retry_failed(ids, using=using)
            if done:
                delivery.kick(using)
            messages.success(request, f"{done} failed purge(s) will be delivered again.")
        elif action == "discard":
            done = delivery.discard_failed(ids, using=using)
            messages.success(request, f"{done} failed purge(s) discarded.")
        else:
            messages.error(request, f"Unknown action {action!r}: retry or discard.")
        return redirect(f"{NAMESPACE}:intents")


# --- the status -----------------------------------------------------------------------------


class StatusView(_Guarded, WagtailAdminTemplateMixin, TemplateView):
    """The backlog and the last 24 hours, with the server-side chart of the Django admin."""

    page_title = "Akamai status"
    header_icon = "pick"
    template_name = "django_akamai_wagtail/status.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        current = status.pipeline_status()
        return {
            **super().get_context_data(**kwargs),
            "status": current,
            "chart": status.hourly_chart(current.hours),
            "accepted": current.total("accepted"),
            "failed": current.total("failed"),
            "objects": current.total("objects"),
            "rate_limited": current.total("rate_limited"),
            "retries": current.total("retries"),
            "purging_enabled": switches.purging_enabled(),
            "backends": len(akamai_backends()),
            "time_zone": timezone.get_current_timezone_name(),
            "can_purge": can_purge(self.request.user),
        }


# --- Purge from CDN ---------------------------------------------------------------------------


class PurgePageView(_Guarded, WagtailAdminTemplateMixin, TemplateView):
    """Confirm, then purge a page (or it and its live descendants) through the backends."""

    page_title = "Purge from CDN"
    header_icon = "bin"
    template_name = "django_akamai_wagtail/purge_page.html"
    allowed = staticmethod(can_purge)

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        page: Any = get_object_or_404(page_model(), pk=kwargs["page_id"])
        self.page = page.specific_deferred

    def next_url(self) -> str:
        url = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if url and url_has_allowed_host_and_scheme(url, {self.request.get_host()}):
            return url
        return reverse("wagtailadmin_explore", args=[self.page.get_parent().pk])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "page": self.page,
            "page_subtitle": self.page.get_admin_display_title(),
            "descendants": self.page.get_descendants().live().count(),
            "next": self.next_url(),
            "backends": akamai_backends(),
        }

    def post(self, request: HttpRequest, page_id: int) -> HttpResponse:
        backends = akamai_backends()
        if not backends:
            messages.error(request, "No AkamaiBackend in WAGTAILFRONTENDCACHE: nothing purged.")
            return redirect(self.next_url())
        subtree = request.POST.get("scope") == "subtree"
        pages = live_subtree(self.page) if subtree else [self.page]
        actor = wagtail_actor(request)
        # One transaction: the intents of every backend commit together, then go out.
        with transaction.atomic(using=router.db_for_write(PurgeIntent)):
            for backend in backends:
                if subtree and backend.cache_tags:
                    backend.purge_tags([tree_tag(self.page)], actor=actor)
                else:
                    backend.purge_pages(pages, actor=actor)
        title = self.page.get_admin_display_title()
        what = f"'{title}' and its {len(pages) - 1} live descendant(s)" if subtree else f"'{title}'"
        messages.success(
            request,
            f"Purge of {what} recorded: Akamai gets it within seconds.",
            buttons=[messages.button(reverse(f"{NAMESPACE}:history"), "Purge history")],
        )
        return redirect(self.next_url())
