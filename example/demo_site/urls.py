from blog.views import post_detail, post_list
from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("posts/", post_list, name="post-list"),
    path("posts/<slug:slug>/", post_detail, name="post-detail"),
]
