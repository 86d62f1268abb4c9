"""The two-site page tree the Wagtail tests use (see ``conftest.site_tree``)."""

from types import SimpleNamespace


def build_site_tree() -> SimpleNamespace:
    """www.example.com: home, about, blog (with feed/), blog/post; blog.example.org: news."""
    from django.core.cache import cache
    from wagtail.models import Locale, Page, Site

    from tests.integrations.models import FeedPage, SimplePage

    cache.clear()  # Wagtail caches the site root paths
    Locale.objects.get_or_create(language_code="en")
    root = Page.add_root(instance=Page(title="Root", slug="root"))
    home = root.add_child(instance=SimplePage(title="Home", slug="home"))
    about = home.add_child(instance=SimplePage(title="About", slug="about"))
    blog = home.add_child(instance=FeedPage(title="Blog", slug="blog"))
    post = blog.add_child(instance=SimplePage(title="Post", slug="post"))
    other_home = root.add_child(instance=SimplePage(title="Other", slug="other"))
    news = other_home.add_child(instance=SimplePage(title="News", slug="news"))
    Site.objects.create(hostname="www.example.com", port=443, root_page=home, is_default_site=True)
    Site.objects.create(hostname="blog.example.org", port=443, root_page=other_home)
    return SimpleNamespace(
        root=root, home=home, about=about, blog=blog, post=post, other_home=other_home, news=news
    )
