"""A crawl of the screens a person can reach from where they land, for the
tests that check what every page shows (tests/controltower/test_readable.py):
same-site links followed breadth first, exports, the API, the admin and
log-out left out, each path with at most a few query strings."""
import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

SKIP = ("/api/", "/admin/", "/accounts/logout", "/logout", "/static/", "/media/")
SKIP_ENDINGS = (".csv", ".json", ".xml")
QUERIES_PER_PATH = 3


class Page(HTMLParser):
    """The links of a page and its visible text: what is between tags, outside scripts, styles and
    code elements (a code is a record's own identifier, shown as it is), with aria-labels."""

    HIDDEN = {"script", "style", "code", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.text, self.hidden = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.HIDDEN:
            self.hidden += 1
        if tag == "a" and attrs.get("href") and "download" not in attrs:
            self.links.append(attrs["href"])
        for name in ("aria-label", "title", "placeholder", "alt"):
            if attrs.get(name):
                self.text.append(attrs[name])

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.text.append(data.strip())


def read(html):
    page = Page()
    page.feed(html)
    return page.links, " ".join(page.text)


def crawl(client, start="/", limit=80):
    """{url: visible text} of up to `limit` pages reached from `start` (its redirect followed)."""
    seen_paths, pages, queue, queued = {}, {}, deque([start]), {start}
    while queue and len(pages) < limit:
        url = queue.popleft()
        response = client.get(url, follow=True)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        links, text = read(response.content.decode())
        pages[url] = text
        for href in links:
            target = urljoin(url, href)
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            if parts.path.startswith(SKIP) or parts.path.endswith(SKIP_ENDINGS) or "format=csv" in parts.query:
                continue
            link = parts.path + (f"?{parts.query}" if parts.query else "")
            if link in queued:
                continue
            if parts.query:
                seen_paths[parts.path] = seen_paths.get(parts.path, 0) + 1
                if seen_paths[parts.path] > QUERIES_PER_PATH:
                    continue
            queued.add(link)
            queue.append(link)
    return pages


ISO_MOMENT = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}\.\d+")
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
KEY_WORDS = re.compile(r"\bSla\b")  # a key made words without its acronym ("Sla hours")
# Django's own date formats ("Nov. 8, 2026", "6:41 a.m."): a date or time that missed the one format.
DJANGO_DATE = re.compile(r"\b(Jan|Feb|Mar|Apr|May|June?|July?|Aug|Sept?|Oct|Nov|Dec)[a-z]*\.? \d{1,2}, \d{4}\b")
DJANGO_TIME = re.compile(r"\b\d{1,2}(:\d{2})? [ap]\.m\.|\bmidnight\b|\bnoon\b")


def problems(text):
    """What a person should never read: ISO times and days, microseconds, internal keys, dates
    and times in another format than the one of every screen."""
    found = []
    for name, pattern in (("ISO time", ISO_MOMENT), ("ISO day", ISO_DAY), ("microseconds", MICROSECONDS),
                          ("internal key", SNAKE_CASE), ("key in words", KEY_WORDS),
                          ("another date format", DJANGO_DATE), ("another time format", DJANGO_TIME)):
        for match in pattern.finditer(text):
            found.append(f"{name}: ...{text[max(0, match.start() - 40):match.end() + 20]}...")
    return found
