from django.db import models

from django_akamai.bulk import PurgingQuerySet


class Category(models.Model):
    """Linked to articles many-to-many (automatic purging of m2m changes)."""

    slug = models.SlugField(unique=True)

    class Meta:
        app_label = "testapp"

    def get_absolute_url(self) -> str:
        return f"/categories/{self.slug}/"


class Article(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200, blank=True)
    categories = models.ManyToManyField(Category, blank=True, related_name="articles")

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


class ArticleProxy(Article):
    """A proxy: saved with itself as the signal sender (automatic purging must still see it)."""

    class Meta:
        proxy = True
        app_label = "testapp"


class Comment(models.Model):
    """Deleted in cascade with its article; its page lives under the article's."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="comments")
    text = models.CharField(max_length=100, blank=True)

    class Meta:
        app_label = "testapp"

    def get_absolute_url(self) -> str:
        return f"/articles/{self.article.slug}/comments/{self.pk}/"


class Story(models.Model):
    """Its bulk changes purge (``django_akamai.bulk.PurgingQuerySet``) when it is declared."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200, blank=True)
    views = models.IntegerField(default=0)

    objects = PurgingQuerySet.as_manager()

    class Meta:
        app_label = "testapp"

    def get_absolute_url(self) -> str:
        return f"/stories/{self.slug}/"
