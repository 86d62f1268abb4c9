from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.html import escape

from django_akamai.cache_tags import add_cache_tags, cache_tags

from .models import Post


def post_detail(request: HttpRequest, slug: str) -> HttpResponse:
    post = get_object_or_404(Post, slug=slug)
    add_cache_tags(request, post)  # Edge-Cache-Tag: blog.post.<pk>
    return HttpResponse(f"<h1>{escape(post.title)}</h1>")


@cache_tags(Post)  # Edge-Cache-Tag: blog.post, the list tag every change of a post purges
def post_list(request: HttpRequest) -> HttpResponse:
    items = "".join(f"<li>{escape(p.title)}</li>" for p in Post.objects.order_by("pk"))
    return HttpResponse(f"<ul>{items}</ul>")
