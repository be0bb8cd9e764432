"""Announcement Markdown to HTML, safely: markdown-it-py's js-default preset (CommonMark with raw HTML
off, so `<script>` and any tag come out as text) and its link check, which drops javascript:, vbscript:,
file: and non-image data: links."""

from __future__ import annotations

from markdown_it import MarkdownIt

_renderer = MarkdownIt("js-default", {"html": False, "linkify": False})


def render_markdown(text: str) -> str:
    """Safe HTML for `text` (Markdown): no raw HTML passes, unsafe link schemes are not turned into links."""
    html: str = _renderer.render(text)
    return html
