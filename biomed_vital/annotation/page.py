"""The page of the annotation app: the keyboard shortcuts, the image viewer and the item's HTML.

All text from the data (caption, mentions, question, answers) is HTML-escaped here, so a caption
holding markup shows as text and cannot run in the clinician's browser.

Example:
    >>> [key for key, _, _ in SHORTCUTS][:4]
    ['a', 'b', 't', 'x']
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["PAGE_CSS", "SHORTCUTS", "SHORTCUTS_JS", "item_html", "message_html", "shortcut_help"]

# key -> (element the key clicks, what it does). The element ids are set on the app's components.
SHORTCUTS: tuple[tuple[str, str, str], ...] = (
    ("a", "#bv-choice-A", "A is better"),
    ("b", "#bv-choice-B", "B is better"),
    ("t", "#bv-choice-tie", "tie"),
    ("x", "#bv-choice-both_bad", "both unacceptable"),
    ("q", '#bv-mark-a input[value="accept"]', "accept A"),
    ("w", '#bv-mark-a input[value="reject"]', "reject A"),
    ("o", '#bv-mark-b input[value="accept"]', "accept B"),
    ("p", '#bv-mark-b input[value="reject"]', "reject B"),
    ("+", ".bv-zoom-in", "zoom in"),
    ("-", ".bv-zoom-out", "zoom out"),
    ("0", ".bv-zoom-fit", "fit the image"),
    ("1", ".bv-zoom-full", "full resolution (100 %)"),
    ("c", "#bv-comment textarea", "write a comment"),
)


def shortcut_help() -> str:
    """One line listing every shortcut, for the page.

    Example:
        >>> shortcut_help().startswith("Keys: a A is better")
        True
    """
    return "Keys: " + " · ".join(f"{key} {what}" for key, _, what in SHORTCUTS)


def _shortcut_table() -> str:
    rows = ",".join(f"{_js_string(key)}:{_js_string(selector)}" for key, selector, _ in SHORTCUTS)
    return "{" + rows + "}"


def _js_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# Runs once when the page loads (the item panel's js_on_load). Keys go to the page unless the clinician
# is typing in a text field, where only Escape acts (it leaves the field). Zoom works by event delegation
# on the panel, so it keeps working as the panel's HTML is replaced item after item.
SHORTCUTS_JS = (
    """
if (!window.__bvShortcuts) {
  window.__bvShortcuts = true;
  const keys = """
    + _shortcut_table()
    + """;
  const zoomOf = (img) => parseFloat(img.dataset.zoom || '0');
  const setZoom = (img, zoom) => {
    img.dataset.zoom = String(zoom);
    if (zoom <= 0) { img.style.width = ''; img.classList.add('bv-fit'); }
    else { img.classList.remove('bv-fit'); img.style.width = Math.round(img.naturalWidth * zoom) + 'px'; }
    const label = document.querySelector('.bv-zoom-level');
    if (label) label.textContent = zoom <= 0 ? 'fit' : Math.round(zoom * 100) + ' %';
  };
  const currentZoom = (img) => zoomOf(img) > 0 ? zoomOf(img) : img.clientWidth / Math.max(img.naturalWidth, 1);
  document.addEventListener('click', (event) => {
    const img = document.querySelector('.bv-image img');
    if (!img) return;
    const target = event.target.closest('.bv-zoom-in, .bv-zoom-out, .bv-zoom-fit, .bv-zoom-full, .bv-image img');
    if (!target) return;
    if (target.classList.contains('bv-zoom-in')) setZoom(img, currentZoom(img) * 1.5);
    else if (target.classList.contains('bv-zoom-out')) setZoom(img, Math.max(currentZoom(img) / 1.5, 0.05));
    else if (target.classList.contains('bv-zoom-fit')) setZoom(img, 0);
    else if (target.classList.contains('bv-zoom-full')) setZoom(img, 1);
    else setZoom(img, zoomOf(img) > 0 ? 0 : 1);  // a click on the image toggles fit / full resolution
  });
  document.addEventListener('keydown', (event) => {
    const field = event.target && event.target.closest && event.target.closest('textarea, input[type=text]');
    if (field) { if (event.key === 'Escape') field.blur(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const selector = keys[event.key] || keys[event.key.toLowerCase()];
    if (!selector) return;
    const element = document.querySelector(selector);
    if (!element) return;
    event.preventDefault();
    if (element.tagName === 'TEXTAREA') element.focus(); else element.click();
  });
}
"""
)

PAGE_CSS = """
.bv-image { overflow: auto; max-height: 58vh; border: 1px solid #d0d7de; border-radius: 6px; background: #111; }
.bv-image img { display: block; margin: 0 auto; height: auto; cursor: zoom-in; }
.bv-image img.bv-fit { width: 100%; max-height: 54vh; object-fit: contain; cursor: zoom-in; }
.bv-image img:not(.bv-fit) { max-width: none; max-height: none; cursor: zoom-out; }
.bv-zoom { display: flex; gap: 6px; align-items: center; margin: 6px 0; font-size: 0.9em; }
.bv-zoom button { padding: 1px 9px; border: 1px solid #8c959f; border-radius: 4px; background: #f6f8fa; cursor: pointer; }
.bv-context { font-size: 0.95em; margin-top: 8px; }
.bv-context p { margin: 4px 0; }
.bv-question { font-size: 1.15em; font-weight: 600; margin: 12px 0 8px; }
.bv-answers { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
.bv-answer { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 12px; white-space: pre-wrap; }
.bv-answer h4 { margin: 0 0 6px; }
.bv-message { border-left: 4px solid #bf8700; background: #fff8c5; color: #3d2f00; padding: 8px 12px; margin: 6px 0; }
.bv-done { border-left: 4px solid #1a7f37; background: #dafbe1; color: #0a3d1b; padding: 12px; font-size: 1.1em; }
"""


def _paragraphs(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def item_html(
    *,
    image_url: str,
    width: int,
    height: int,
    caption: str,
    mentions: Sequence[str],
    question: str,
    answers: Sequence[str],
    figure_id: str,
) -> str:
    """The item panel: the zoomable image, its caption and mentions, the question, the answers side by side.

    Example:
        >>> "&lt;b&gt;" in item_html(image_url="data:,", width=1, height=1, caption="<b>", mentions=[],
        ...                          question="Q?", answers=["one", "two"], figure_id="f1")
        True
    """
    mention_items = "".join(f"<li>{_paragraphs(m)}</li>" for m in mentions if str(m).strip())
    mentions_html = f"<p><b>Mentions</b></p><ul>{mention_items}</ul>" if mention_items else ""
    return f"""
<div class="bv-item" data-figure="{html.escape(figure_id)}">
  <div class="bv-zoom">
    <span>Image {width} × {height} px:</span>
    <button type="button" class="bv-zoom-fit" title="fit (0)">fit</button>
    <button type="button" class="bv-zoom-full" title="full resolution (1)">100 %</button>
    <button type="button" class="bv-zoom-out" title="zoom out (-)">−</button>
    <button type="button" class="bv-zoom-in" title="zoom in (+)">+</button>
    <span class="bv-zoom-level">fit</span>
  </div>
  <div class="bv-image"><img class="bv-fit" data-zoom="0" src="{image_url}" alt="figure {html.escape(figure_id)}"
       width="{width}" height="{height}"></div>
  <div class="bv-context">
    <p><b>Figure</b> {html.escape(figure_id)}</p>
    <p><b>Caption</b> {_paragraphs(caption) or "<i>(none)</i>"}</p>
    {mentions_html}
  </div>
  <div class="bv-question" id="bv-question">{_paragraphs(question)}</div>
  <div class="bv-answers">
    <div class="bv-answer" id="bv-answer-A"><h4>A</h4>{_paragraphs(answers[0])}</div>
    <div class="bv-answer" id="bv-answer-B"><h4>B</h4>{_paragraphs(answers[1])}</div>
  </div>
</div>
"""


def message_html(text: str, *, kind: str = "message") -> str:
    """A highlighted message box (``kind``: ``message`` for problems, ``done`` for the end).

    Example:
        >>> message_html("All done.", kind="done")
        '<div class="bv-done">All done.</div>'
    """
    return f'<div class="bv-{kind}">{_paragraphs(text)}</div>'
