from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from .models import Post


def post_detail(request: HttpRequest, slug: str) -> HttpResponse:
    post = get_object_or_404(Post, slug=slug)
    return HttpResponse(f"<h1>{post.title}</h1>")
