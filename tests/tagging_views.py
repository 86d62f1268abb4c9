"""Views for the cache-tag tests: list, detail, embedding, class-based, streaming, cached."""

from django.http import HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import cache_page
from django.views.generic import DetailView

from django_akamai.cache_tags import add_cache_tags, cache_tags
from tests.testapp.models import Article


def article_list(request):
    """Renders every article; the template tags the response with each and the list tag."""
    return TemplateResponse(
        request, "tagging/list.html", {"articles": Article.objects.order_by("pk")}
    )


@cache_tags("homepage", lambda request, slug: Article.objects.get(slug=slug))
def article_detail(request, slug):
    return HttpResponse(f"article {slug}")


def embedding(request, slug):
    """A page that embeds one article in other content: tagged explicitly by the view."""
    article = Article.objects.get(slug=slug)
    add_cache_tags(request, article, "sidebar")
    return HttpResponse(f"embeds {article.slug}")


@cache_tags("stream")
def streaming(request):
    return StreamingHttpResponse(iter([b"a", b"b"]))


def too_many(request):
    add_cache_tags(request, *[f"t{i}" for i in range(200)], "bad tag")
    return HttpResponse("many")


CALLS = {"cached": 0}


@cache_page(60)
@cache_tags("cached-page")  # inside cache_page: the header is stored with the cached copy
def cached(request):
    CALLS["cached"] += 1
    return HttpResponse(f"call {CALLS['cached']}")


class ArticleDetailView(DetailView):
    model = Article
    template_name = "tagging/detail.html"
