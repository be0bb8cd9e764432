"""Announcement Markdown to HTML, safely: markdown-it-py's js-default preset (CommonMark with raw HTML
off, so `<script>` and any tag come out as text) and its link check, which drops javascript:, vbscript:,
file: and non-image data: links."""

from __future__ import annotations

from markdown_it import MarkdownIt

_renderer = MarkdownIt("js-default", {"html": False, "linkify": False})


def render_markdown(text: str, heading_offset: int = 0) -> str:
    """Safe HTML for `text` (Markdown): no raw HTML passes, unsafe link schemes are not turned into links.
    `heading_offset` 1 turns `# Title` into <h2> (for pages whose own title is the h1)."""
    tokens = _renderer.parse(text)
    if heading_offset:
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{min(6, int(token.tag[1]) + heading_offset)}"
    html: str = _renderer.renderer.render(tokens, _renderer.options, {})
    return html
