from django.db import models

try:  # the opt-in purging of bulk changes, in versions that have it (bench_save_cost.py)
    from django_akamai.bulk import PurgingQuerySet
except ImportError:
    PurgingQuerySet = None


class Page(models.Model):
    """A row with a page: the smallest model that can be purged by URL."""

    slug = models.SlugField(max_length=80)

    class Meta:
        abstract = True
        app_label = "benchapp"

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return f"/items/{self.pk}/{self.slug}/"


class Item(Page):
    """Purged where a benchmark declares it in ``AKAMAI_PURGE_MODELS``."""

    # Declared first, so it stays the default manager when ``purging`` is added below.
    objects = models.Manager()
    if PurgingQuerySet is not None:
        purging = PurgingQuerySet.as_manager()


class PlainItem(Page):
    """``Item``'s twin that is never purged (not in ``AKAMAI_PURGE_MODELS``): the same save
    without purging, for what purging adds to it."""
