"""A browser without JavaScript: an HTTP client with a cookie jar that follows links, redirects and
forms. SimpleSAMLphp's POST-binding page submits its form with a script; ``submit`` does what that
script does."""

from urllib.parse import parse_qsl, urlencode, urljoin, urlparse

import httpx
import lxml.html


class Browser:
    def __init__(self) -> None:
        self.client = httpx.Client(follow_redirects=True, timeout=30)

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, follow: bool = True) -> httpx.Response:
        return self.client.get(url, follow_redirects=follow)

    def post(self, url: str, data: dict, follow: bool = True) -> httpx.Response:
        return self.client.post(url, data=data, follow_redirects=follow)

    def link(self, page: httpx.Response, text: str) -> str:
        """The absolute URL of the link whose text contains ``text``."""
        doc = lxml.html.fromstring(page.text)
        for anchor in doc.iter("a"):
            if text in anchor.text_content():
                return urljoin(str(page.url), anchor.get("href"))
        raise AssertionError(f"no link {text!r} on {page.url}:\n{page.text[:2000]}")

    def form(self, page: httpx.Response, **fields: str) -> tuple[str, dict[str, str]]:
        """The first form on the page: its absolute action and its fields, ``fields`` filled in."""
        doc = lxml.html.fromstring(page.text)
        forms = doc.forms
        if not forms:
            raise AssertionError(f"no form on {page.url} ({page.status_code}):\n{page.text[:3000]}")
        form = forms[0]
        values = {name: value or "" for name, value in form.form_values()}
        values.update(fields)
        return urljoin(str(page.url), form.action or str(page.url)), values

    def submit(self, page: httpx.Response, follow: bool = True, **fields: str) -> httpx.Response:
        action, values = self.form(page, **fields)
        return self.post(action, values, follow=follow)

    def redirects_until(self, url: str, stop_prefix: str) -> str:
        """Follow redirects from ``url`` by hand; return the first location starting with
        ``stop_prefix`` without requesting it (to look at what a provider sends back)."""
        for _ in range(20):
            if url.startswith(stop_prefix):
                return url
            response = self.get(url, follow=False)
            if response.status_code not in (301, 302, 303, 307, 308):
                raise AssertionError(f"{url} answered {response.status_code}, not a redirect:\n{response.text[:2000]}")
            url = urljoin(url, response.headers["location"])
        raise AssertionError(f"too many redirects before {stop_prefix}")


def with_query(url: str, **changes: str | None) -> str:
    """``url`` with query parameters replaced, or removed where the value is None."""
    parts = urlparse(url)
    query = dict(parse_qsl(parts.query))
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return parts._replace(query=urlencode(query)).geturl()
