"""Purging by cache tag versus by enumerating URLs, on an example site.

The site: 2,000 articles in 20 categories; a detail page per article that embeds 5 related
articles; the home page (latest 10); the article list (20 a page); category lists (20 a page);
a feed (latest 50). Every page carries the tags of the articles it shows, and list pages the
model's list tag, as django_akamai.cache_tags does.

For one changed article, the URL side is given perfect knowledge (the exact pages that showed
it, found with a reverse index a real site rarely has); the tag side sends the article's tag
(and the list tag when positions shift). Both go through PurgeRequest to the emulator, which
counts objects and requests.

    .venv/bin/python benchmarks/bench_tags.py [--json]
"""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

ARTICLES, CATEGORIES, PER_PAGE, RELATED = 2_000, 20, 20, 5
HOST = "https://www.example.com"


def build_site(seed: int = 1) -> dict[str, set[str]]:
    """Every page URL and the article tags it shows."""
    rng = random.Random(seed)
    pages: dict[str, set[str]] = defaultdict(set)
    newest_first = list(range(ARTICLES - 1, -1, -1))
    for a in range(ARTICLES):
        detail = f"{HOST}/articles/article-{a}/"
        pages[detail].add(f"article-{a}")
        for other in rng.sample(range(ARTICLES), RELATED):
            pages[detail].add(f"article-{other}")
    for a in newest_first[:10]:
        pages[f"{HOST}/"].add(f"article-{a}")
    for a in newest_first[:50]:
        pages[f"{HOST}/feed/"].add(f"article-{a}")
    for index, a in enumerate(newest_first):
        pages[f"{HOST}/articles/?page={index // PER_PAGE + 1}"].add(f"article-{a}")
    by_category: dict[int, list[int]] = defaultdict(list)
    for a in newest_first:
        by_category[a % CATEGORIES].append(a)
    for category, members in by_category.items():
        for index, a in enumerate(members):
            pages[f"{HOST}/category/{category}/?page={index // PER_PAGE + 1}"].add(f"article-{a}")
    return pages


def is_list(url: str) -> bool:
    return "?page=" in url or url.endswith(("/feed/", f"{HOST}/"))


def measure(emu, objects: list[str], object_type: str) -> dict[str, int]:
    from django_akamai.purge import PurgeRequest

    emu.reset()
    pr = PurgeRequest(options={"type": object_type, "action": "invalidate"})
    pr.add(objects)
    pr.purge_all()
    counters = emu.counters
    return {"objects": counters["objects_accepted"], "requests": counters["accepted"]}


def main() -> dict[str, dict[str, dict[str, int]]]:
    from django_akamai.emulator import Emulator
    from django_akamai.testing import emulator_settings

    pages = build_site()
    changed = f"article-{ARTICLES // 2}"
    showed_it = sorted(url for url, tags in pages.items() if changed in tags)
    # Publishing or deleting shifts every list page after it: all of them must go.
    shifted = sorted(set(showed_it) | {url for url in pages if is_list(url)})
    results = {}
    with Emulator(port=0, rate_limits="off") as emu:
        for name, value in emulator_settings(emu, "v3").items():
            setattr(settings, name, value)
        results["edit one article"] = {
            "by URL": measure(emu, showed_it, "url"),
            "by tag": measure(emu, [changed], "tag"),
        }
        results["publish or delete one article"] = {
            "by URL": measure(emu, shifted, "url"),
            "by tag": measure(emu, [changed, "article-list"], "tag"),
        }
    return results


if __name__ == "__main__":
    settings.configure(INSTALLED_APPS=["django_akamai"], USE_TZ=True, AKAMAI_HISTORY=False)
    django.setup()
    figures = main()
    if "--json" in sys.argv:
        print(json.dumps(figures))
    else:
        print(
            "| change | by URL: objects | by URL: requests | by tag: objects | "
            "by tag: requests | objects ratio |"
        )
        print("|---|---|---|---|---|---|")
        for change, row in figures.items():
            url, tag = row["by URL"], row["by tag"]
            print(
                f"| {change} | {url['objects']} | {url['requests']} | {tag['objects']} | "
                f"{tag['requests']} | {url['objects'] / tag['objects']:.0f}x |"
            )
