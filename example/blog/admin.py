from django.contrib import admin

from django_akamai.admin import AkamaiPurgeAdminMixin

from .models import Post


@admin.register(Post)
class PostAdmin(AkamaiPurgeAdminMixin, admin.ModelAdmin):
    """Posts, with django-akamai's "Purge from Akamai" action."""

    list_display = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
