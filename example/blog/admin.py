from django.contrib import admin

from django_akamai.admin import AkamaiPurgeAdminMixin

from .models import Post


@admin.register(Post)
class PostAdmin(AkamaiPurgeAdminMixin, admin.ModelAdmin):
    list_display = ("title", "slug")
