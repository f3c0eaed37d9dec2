"""Reading a page's form the way a browser would submit it, for tests that post what a page showed."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormFields(HTMLParser):
    def __init__(self, form_id: str | None) -> None:
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, []
        self._select: str | None = None
        self._selected: str | None = None
        self._first: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = self.form_id is None or a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a and "disabled" not in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif "disabled" not in a:
                self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select, self._selected, self._first = a.get("name"), None, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._first is None:
                self._first = value
            if "selected" in a:
                self._selected = value
        elif tag == "textarea":
            self.fields.append((a.get("name"), ""))

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            self.fields.append((self._select, self._selected if self._selected is not None else self._first or ""))
            self._select = None
        if tag == "form":
            self.inside = False


def form_fields(html: str, form_id: str | None = None) -> list[tuple[str, str]]:
    """The (name, value) pairs the form would submit, csrf excluded (the test client adds it)."""
    parser = _FormFields(form_id)
    parser.feed(html)
    return [(k, v) for k, v in parser.fields if k != "csrf"]


def with_values(fields: list[tuple[str, str]], **changes: str) -> list[tuple[str, str]]:
    """The same fields with some values changed (by name)."""
    out = [(k, changes.get(k, v)) for k, v in fields]
    return out + [(k, v) for k, v in changes.items() if k not in dict(fields)]
