"""Announcement Markdown to HTML, safely: markdown-it-py's js-default preset (CommonMark with raw HTML
off, so `<script>` and any tag come out as text) and its link check, which drops javascript:, vbscript:,
file: and non-image data: links."""

from __future__ import annotations

from collections.abc import Callable

from markdown_it import MarkdownIt

_renderer = MarkdownIt("js-default", {"html": False, "linkify": False})


def render_markdown(text: str, heading_offset: int = 0, track: Callable[[str], str] | None = None) -> str:
    """Safe HTML for `text` (Markdown): no raw HTML passes, unsafe link schemes are not turned into links.
    `heading_offset` 1 turns `# Title` into <h2> (for pages whose own title is the h1); `track` maps each
    http(s) link to the address that counts its click and forwards to it."""
    tokens = _renderer.parse(text)
    for token in tokens:
        if heading_offset and token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + heading_offset)}"
        if track is not None and token.type == "inline":
            for child in token.children or []:
                href = str(child.attrGet("href") or "")
                if child.type == "link_open" and href.lower().startswith(("http://", "https://")):
                    child.attrSet("href", track(href))
    html: str = _renderer.renderer.render(tokens, _renderer.options, {})
    return html
