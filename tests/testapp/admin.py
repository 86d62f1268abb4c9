"""Admin for the test models: the "Purge from Akamai" action through the mixin."""

from django.contrib import admin

from django_akamai.admin import AkamaiPurgeAdminMixin

from .models import Article, Note, Page


@admin.register(Article)
class ArticleAdmin(AkamaiPurgeAdminMixin, admin.ModelAdmin):
    list_display = ("slug", "title")
    akamai_purge_options = {"action": "invalidate"}


@admin.register(Page)
class PageAdmin(AkamaiPurgeAdminMixin, admin.ModelAdmin):
    list_display = ("path",)


@admin.register(Note)
class NoteAdmin(AkamaiPurgeAdminMixin, admin.ModelAdmin):
    """Note has no get_absolute_url(): the action must explain, not crash."""

    list_display = ("text",)
