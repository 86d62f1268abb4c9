"""The staff "Purge URLs" and "Akamai status" pages, and the purge-and-report step shared
with the admin action.

Served through the admin site (see ``admin.PurgePageAdmin`` and ``admin.StatusPageAdmin``), so
projects need no URLconf change. The purge page answers 403 to anyone without the
``django_akamai.purge_cache`` permission, and its "Purge everything" needs
``django_akamai.purge_everything`` as well; the status page needs ``purge_cache`` or the view
permission of the purge history.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from . import conf, funnel, operator_tools, status, switches
from .exceptions import AkamaiConfigurationError, AkamaiError, InvalidPurgeObject
from .forms import FIELD_TYPES, PurgeForm
from .purge import PurgeRequest

#: The permission needed for the admin action and the purge page.
PURGE_PERMISSION = "django_akamai.purge_cache"

#: The permission needed for "Purge everything" (the site's CP codes), on top of the first.
PURGE_EVERYTHING_PERMISSION = "django_akamai.purge_everything"

#: Refused objects listed in one admin message; the rest are counted.
MAX_LISTED = 20


def has_purge_permission(user: Any) -> bool:
    """Whether ``user`` may purge from the admin (active staff with ``purge_cache``)."""
    return bool(user and user.is_active and user.is_staff and user.has_perm(PURGE_PERMISSION))


def has_purge_everything_permission(user: Any) -> bool:
    """Whether ``user`` may purge the site's CP codes from the admin."""
    return has_purge_permission(user) and user.has_perm(PURGE_EVERYTHING_PERMISSION)


def has_status_permission(user: Any) -> bool:
    """Whether ``user`` may see the "Akamai status" page (who may purge, or see the history)."""
    return bool(
        user
        and user.is_active
        and user.is_staff
        and (user.has_perm(PURGE_PERMISSION) or user.has_perm("django_akamai.view_purgerecord"))
    )


def admin_actor(request: HttpRequest) -> str:
    """``admin:<username>``: who asked, for the purge history."""
    return f"admin:{request.user.get_username()}"


def purge_and_report(
    request: HttpRequest,
    groups: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    planned: bool = True,
) -> list[operator_tools.Outcome]:
    """Purge each group of objects (by type) now and say how it went in admin messages.

    ``groups`` maps an object type to planned objects (the form's), or, with
    ``planned=False``, to anything ``PurgeRequest.add()`` takes (the admin action's QuerySet).
    Returns the outcomes; an empty list when nothing could be sent (the reason is a message).
    Messages carry Akamai's title, detail and supportId, and never a credential: this app's
    exceptions never contain one.
    """
    requests = []
    try:
        # Every request is built before any is sent: a configuration error sends nothing.
        # Each account's part (URLs by host, ``funnel.route``) on that account's client.
        for object_type, objects in groups.items():
            chosen = {**(options or {}), "type": object_type}
            # The form planned its objects (operator_tools.read_objects); the action's not.
            the_plan = funnel.planned(objects, chosen) if planned else funnel.plan(objects, chosen)
            for part in funnel.route(the_plan):
                pr = PurgeRequest(options=chosen, actor=admin_actor(request), account=part.account)
                pr.add_planned(part.objects)
                requests.append(pr)
    except (AkamaiConfigurationError, InvalidPurgeObject) as exc:
        messages.error(request, f"Nothing was purged: {exc}")
        return []
    outcomes = []
    for pr in requests:
        try:
            with pr:
                outcomes.append(operator_tools.send(pr))
        except AkamaiError as exc:
            messages.error(request, f"Purge failed: {exc}")
    for outcome in outcomes:
        if outcome.held_by:
            messages.info(request, operator_tools.summary(outcome))
        if outcome.results:
            messages.success(request, operator_tools.summary(outcome))
        if outcome.ok:
            continue
        for line in operator_tools.failure_lines(outcome):
            messages.error(request, line)
        listed = outcome.not_purged[:MAX_LISTED]
        more = len(outcome.not_purged) - len(listed)
        messages.error(
            request,
            f"Not purged: {', '.join(map(str, listed))}"
            + (f" and {more} more." if more > 0 else "."),
        )
    return outcomes


def purge_page(request: HttpRequest, model_admin: Any) -> HttpResponse:
    """GET: the form. POST: purge, report as messages, then show the form again.

    After a full success the browser is redirected (so a reload does not purge twice); when
    something was not purged, the form comes back holding just those objects, to retry.
    """
    if not has_purge_permission(request.user):
        raise PermissionDenied
    may_purge_everything = has_purge_everything_permission(request.user)
    if request.method == "POST":
        if request.POST.get("everything") and not may_purge_everything:
            raise PermissionDenied
        form = PurgeForm(request.POST)
        if form.is_valid():
            outcomes = purge_and_report(request, form.groups(), form.options())
            retry: dict[str, list[str]] = {}
            for outcome in outcomes:
                retry.setdefault(outcome.object_type, []).extend(
                    str(obj) for obj in outcome.not_purged
                )
            if outcomes and not any(retry.values()):
                return HttpResponseRedirect(request.path)
            if any(retry.values()):
                names = {t: n for n, t in FIELD_TYPES.items()}
                initial = {names[t]: "\n".join(v) for t, v in retry.items() if v}
                form = PurgeForm(initial={**initial, **form.options()})
    else:
        form = PurgeForm()
    admin_site = model_admin.admin_site
    try:
        history_url = reverse(f"{admin_site.name}:django_akamai_purgerecord_changelist")
    except NoReverseMatch:
        history_url = None
    try:
        bases = conf.base_urls()
    except AkamaiConfigurationError:
        bases = []
    context = {
        **admin_site.each_context(request),
        "title": "Purge URLs",
        "subtitle": None,
        "form": form,
        "opts": model_admin.model._meta,
        "app_label": model_admin.model._meta.app_label,
        "history_url": history_url,
        "base_urls": bases,
        "can_purge_everything": may_purge_everything,
        "media": model_admin.media + form.media,
    }
    request.current_app = admin_site.name
    return TemplateResponse(request, "admin/django_akamai/purge.html", context)


def _link(admin_site: Any, name: str) -> str | None:
    try:
        return reverse(f"{admin_site.name}:{name}")
    except NoReverseMatch:
        return None


def status_page(request: HttpRequest, model_admin: Any) -> HttpResponse:
    """The pipeline's backlog and the last 24 hours of purges, with a server-side chart."""
    if not has_status_permission(request.user):
        raise PermissionDenied
    admin_site = model_admin.admin_site
    current = status.pipeline_status()
    links = [
        (label, url)
        for label, url in (
            ("Purge intents", _link(admin_site, "django_akamai_purgeintent_changelist")),
            ("Purge history", _link(admin_site, "django_akamai_purgerecord_changelist")),
            (
                "Purge URLs",
                _link(admin_site, "django_akamai_purgepage_changelist")
                if has_purge_permission(request.user)
                else None,
            ),
        )
        if url
    ]
    context = {
        **admin_site.each_context(request),
        "title": "Akamai status",
        "subtitle": None,
        "opts": model_admin.model._meta,
        "app_label": model_admin.model._meta.app_label,
        "status": current,
        "chart": status.hourly_chart(current.hours),
        "accepted": current.total("accepted"),
        "failed": current.total("failed"),
        "objects": current.total("objects"),
        "rate_limited": current.total("rate_limited"),
        "retries": current.total("retries"),
        "links": links,
        "purging_enabled": switches.purging_enabled(),
        "time_zone": timezone.get_current_timezone_name(),
    }
    request.current_app = admin_site.name
    return TemplateResponse(request, "admin/django_akamai/status.html", context)
