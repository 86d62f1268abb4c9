from django.urls import path

from django_akamai.cache_tags import cache_tags
from tests import tagging_views as views

urlpatterns = [
    path("articles/", views.article_list),
    path("articles/<slug:slug>/", views.article_detail),
    path("embed/<slug:slug>/", views.embedding),
    path("cbv/<slug:slug>/", cache_tags("cbv")(views.ArticleDetailView.as_view())),
    path("stream/", views.streaming),
    path("many/", views.too_many),
    path("cached/", views.cached),
]
