from django.db import models


class Article(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200, blank=True)

    class Meta:
        app_label = "testapp"

    def get_absolute_url(self) -> str:
        return f"/articles/{self.slug}/"


class Page(models.Model):
    """Returns absolute URLs, as some sites do."""

    path = models.CharField(max_length=300)

    class Meta:
        app_label = "testapp"

    def get_absolute_url(self) -> str:
        return f"https://www.example.com{self.path}"


class Note(models.Model):
    """No get_absolute_url(): cannot be purged by URL."""

    text = models.CharField(max_length=100)

    class Meta:
        app_label = "testapp"
