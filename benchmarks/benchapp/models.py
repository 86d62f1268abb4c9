from django.db import models


class Item(models.Model):
    """A row with a page: the smallest model that can be purged by URL."""

    slug = models.SlugField(max_length=80)

    class Meta:
        app_label = "benchapp"

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return f"/items/{self.pk}/{self.slug}/"
