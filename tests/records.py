"""Reading the records behind a measured number as a person does: the page
a "Records behind it" link opens (HTML, never the API's JSON), then its CSV
export, which lists the same records with the same filters."""
import csv
import io
from urllib.parse import urlsplit, urlunsplit

# The screens with their own CSV export; every other records page is /records/<list>/.
CSV_OF = {"/cases/": "/cases/export.csv", "/journeys/": "/journeys.csv"}


def csv_url(url):
    parts = urlsplit(url)
    if parts.path in CSV_OF:
        path = CSV_OF[parts.path]
    elif parts.path.startswith("/records/"):
        path = parts.path.rstrip("/") + ".csv"
    else:
        raise AssertionError(f"{url} is not a records page of the app")
    return urlunsplit(("", "", path, parts.query, ""))


def records_behind(client, url, user):
    """The rows (dicts by column) `user` reads behind `url`, after checking the page itself is a readable page."""
    client.force_login(user)
    page = client.get(url)
    assert page.status_code == 200, page.content[:500]
    assert page["Content-Type"].startswith("text/html")
    export = client.get(csv_url(url))
    assert export.status_code == 200, export.content[:500]
    return list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
