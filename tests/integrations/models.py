"""Page types for the Wagtail tests: a plain page, and one that serves a feed as well."""

from django.http import HttpResponse
from wagtail.models import Page


class SimplePage(Page):
    def serve(self, request, *args, **kwargs):
        return HttpResponse(f"<h1>{self.title}</h1>")


class FeedPage(Page):
    """Also serves ``feed/``: Wagtail purges both URLs through ``get_cached_paths()``."""

    def get_cached_paths(self):
        return ["/", "/feed/"]

    def route(self, request, path_components):
        if path_components == ["feed"]:
            from wagtail.url_routing import RouteResult

            return RouteResult(self, kwargs={"feed": True})
        return super().route(request, path_components)

    def serve(self, request, *args, feed=False, **kwargs):
        return HttpResponse("feed" if feed else f"<h1>{self.title}</h1>")
