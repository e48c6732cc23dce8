"""The clinician annotation app: a local Gradio page to compare two answers to a question about a figure.

For each item the clinician sees the figure (zoomable up to full resolution), its caption and
in-text mentions, one question and two candidate answers side by side (A left, B right, their order
randomised per item), and records A better / B better / tie / both unacceptable, optionally
accepting or rejecting each answer and leaving a comment. Every choice has a key. Judgements are
saved the moment they are made (:class:`~biomed_vital.annotation.AnnotationSession`); reopening
resumes at the first item the annotator has not done. An item whose image is missing or does not
decode is skipped with a message; the server never stops for it.

Install with ``pip install "biomed_vital[annotate]"``.

Example:
    >>> from biomed_vital.annotation import annotation_app
    >>> app = annotation_app("candidates/", "annotations.jsonl", annotator="rad-1")   # doctest: +SKIP
    >>> app.launch()                                                                   # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from biomed_vital import schema
from biomed_vital.annotation.app_config import AnnotationAppConfig, is_loopback
from biomed_vital.annotation.items import annotation_items
from biomed_vital.annotation.page import PAGE_CSS, SHORTCUTS_JS, item_html, message_html, shortcut_help
from biomed_vital.annotation.session import AnnotationSession

__all__ = ["INSTALL_HINT", "annotation_app", "launch_annotation_app"]

logger = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "biomed_vital[annotate]"'
_CHOICE_LABELS = {"A": "A is better", "B": "B is better", "tie": "Tie", "both_bad": "Both unacceptable"}
_MARKS = {"accept": True, "reject": False}
_SHOWN_SKIPPED = 8


def _import_gradio() -> Any:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the app never calls home
    try:
        import gradio
    except ImportError:
        raise ImportError(f"the annotation app needs Gradio; install it with: {INSTALL_HINT}") from None
    return gradio


def _theme(gr: Any) -> Any:
    # system fonts: the default theme fetches web fonts, which a machine without internet cannot reach
    return gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )


def annotation_app(
    candidates: Any,
    out: str | os.PathLike[str],
    annotator: str,
    *,
    seed: int = 0,
) -> Any:
    """Build the annotation app (a ``gradio.Blocks``) for one annotator; ``.launch()`` starts it.

    Args:
        candidates: two-answer candidates: a Dataset or a path :func:`biomed_vital.load_stage` reads.
        out: the JSONL annotation log (created or appended to).
        annotator: the clinician's label, carried by every record.
        seed: seed of the per-item answer order.

    Raises:
        ImportError: Gradio is missing (``pip install "biomed_vital[annotate]"``).
        ValueError: the candidates are not two-answer candidates, or hold no item that can be judged.

    Example:
        >>> app = annotation_app(candidates, "annotations.jsonl", "rad-1")   # doctest: +SKIP
        >>> app.launch(server_name="127.0.0.1")                                # doctest: +SKIP
    """
    gr = _import_gradio()
    from datasets import Image as ImageFeature

    from biomed_vital.data import image_to_data_url, load_image

    if isinstance(candidates, str | os.PathLike):
        from biomed_vital.schema import load_stage

        candidates = load_stage(candidates)
    items, skipped = annotation_items(candidates)
    if not items:
        reasons = "; ".join(skipped[:_SHOWN_SKIPPED]) or "the candidates hold no question"
        raise ValueError(f"no item to annotate: {reasons}")
    session = AnnotationSession(items, out, annotator, seed=seed)
    context_columns = [
        c for c in (schema.IMAGE, schema.CAPTION, schema.MENTIONS) if c in candidates.column_names
    ]
    view = candidates.select_columns(context_columns)
    if schema.IMAGE in context_columns and isinstance(view.features[schema.IMAGE], ImageFeature):
        view = view.cast_column(schema.IMAGE, ImageFeature(decode=False))
    notices = [f"figure skipped: {reason}" for reason in skipped]

    def header() -> str:
        done = len(session.done & {item.item_id for item in session.items})
        total = session.total
        progress = (
            f'<div id="bv-progress"><b>{_escape(session.annotator)}</b> · Done {done} / {total}'
            f'<progress value="{done}" max="{max(total, 1)}" style="margin-left:12px;width:40%"></progress></div>'
        )
        if notices:
            listed = "\n".join(notices[-_SHOWN_SKIPPED:])
            more = f"\n(and {len(notices) - _SHOWN_SKIPPED} more)" if len(notices) > _SHOWN_SKIPPED else ""
            progress += message_html(
                f"{len(notices)} item(s) cannot be shown and are skipped:\n{listed}{more}"
            )
        return progress

    def render(position: int | None, status: str) -> tuple[Any, ...]:
        """Show the first showable item from ``position`` on; unshowable ones are noted and skipped."""
        while position is not None:
            item = session.items[position]
            row = view[item.row]
            try:
                image = load_image(row.get(schema.IMAGE))
                url = image_to_data_url(image, max_side=None, format="PNG")
            except Exception as error:  # any undecodable image: say so, skip the figure's questions, go on
                reason = str(error).splitlines()[0]
                same_figure = [other.item_id for other in session.items if other.row == item.row]
                session.bad.update(dict.fromkeys(same_figure, reason))
                notices.append(f"figure {item.figure_id!r} ({len(same_figure)} question(s)): {reason}")
                logger.warning("skipping figure %s: %s", item.figure_id, reason)
                position = session.next_index(position + 1)
                continue
            shown = session.show(item)
            mentions = row.get(schema.MENTIONS) or []
            panel = item_html(
                image_url=url,
                width=image.width,
                height=image.height,
                caption=str(row.get(schema.CAPTION) or ""),
                mentions=[mentions] if isinstance(mentions, str) else list(mentions),
                question=item.question,
                answers=shown.answers,
                figure_id=item.figure_id,
            )
            state = {"position": position, "item_id": item.item_id, "shown_at": time.monotonic()}
            return state, item.item_id, header(), panel, None, None, "", status
        done_page = message_html(
            f"All {session.total} items are done. Thank you! The judgements are in {session.out}.",
            kind="done",
        )
        return (
            {"position": None, "item_id": "", "shown_at": 0.0},
            "",
            header(),
            done_page,
            None,
            None,
            "",
            status,
        )

    def start() -> tuple[Any, ...]:
        return render(session.next_index(), "")

    def judge(choice: str, shown_item: str, mark_a: str | None, mark_b: str | None, comment: str, state: Any):
        state = state or {}
        position = state.get("position")
        if position is None:
            return render(session.next_index(), "")
        item = session.items[position]
        if shown_item != item.item_id:  # a repeated key press that arrived after the page moved on
            return render(position, "Ignored a repeated press: the page had already moved on.")
        try:
            written = session.judge(
                item,
                choice,
                marks={"A": _MARKS.get(mark_a or ""), "B": _MARKS.get(mark_b or "")},
                comment=comment or "",
                seconds=time.monotonic() - float(state.get("shown_at") or time.monotonic()),
            )
        except Exception as error:  # the log could not be written: stay on the item so nothing is lost
            logger.exception("could not save the judgement of %s", item.item_id)
            return render(position, f"NOT SAVED ({error}); try again.")
        status = (
            f"Saved question {item.turn + 1} of figure {item.figure_id}: {_CHOICE_LABELS[choice]}."
            if written
            else "This item was already judged in another window; moved on."
        )
        return render(session.next_index(position + 1), status)

    with gr.Blocks(title=f"biomed-vital annotate: {session.annotator}", analytics_enabled=False) as app:
        state = gr.State({})
        shown_item = gr.Textbox(visible="hidden", elem_id="bv-item-id")
        progress = gr.HTML(elem_id="bv-header", js_on_load=None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                panel = gr.HTML(
                    elem_id="bv-panel",
                    js_on_load=SHORTCUTS_JS,
                    css_template=PAGE_CSS,
                    apply_default_css=False,
                )
            with gr.Column(scale=2):
                gr.Markdown("**Which answer is better?** Accepting or rejecting each answer is optional.")
                with gr.Row():
                    mark_a = gr.Radio(["accept", "reject"], label="Answer A", elem_id="bv-mark-a")
                    mark_b = gr.Radio(["accept", "reject"], label="Answer B", elem_id="bv-mark-b")
                comment = gr.Textbox(label="Comment (optional)", lines=2, elem_id="bv-comment")
                buttons = {
                    choice: gr.Button(
                        f"{label} [{key}]",
                        elem_id=f"bv-choice-{choice}",
                        variant="primary" if choice in ("A", "B") else "secondary",
                    )
                    for (choice, label), key in zip(_CHOICE_LABELS.items(), ("a", "b", "t", "x"), strict=True)
                }
                status = gr.Markdown(elem_id="bv-status")
                gr.Markdown(shortcut_help(), elem_id="bv-keys")
        outputs = [state, shown_item, progress, panel, mark_a, mark_b, comment, status]
        app.load(start, inputs=None, outputs=outputs)
        for choice, button in buttons.items():
            button.click(
                _bind_choice(judge, choice),
                inputs=[shown_item, mark_a, mark_b, comment, state],
                outputs=outputs,
                trigger_mode="once",
            )
    app.annotation_session = session  # for callers that want to inspect progress
    return app


def _bind_choice(judge: Any, choice: str) -> Any:
    def handler(shown_item: str, mark_a: str | None, mark_b: str | None, comment: str, state: Any):
        return judge(choice, shown_item, mark_a, mark_b, comment, state)

    return handler


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def launch_annotation_app(config: AnnotationAppConfig, *, block: bool = True) -> Any:
    """Build and start the app as ``config`` says (127.0.0.1 unless told otherwise; a password off this machine).

    Args:
        config: an :class:`~biomed_vital.annotation.AnnotationAppConfig`.
        block: wait until the server is stopped (Ctrl+C); ``False`` returns the running app.

    Example:
        >>> launch_annotation_app(AnnotationAppConfig("candidates/", "annotations.jsonl", "rad-1"))  # doctest: +SKIP
    """
    gr = _import_gradio()
    if not is_loopback(config.host) and not config.password:  # AnnotationAppConfig checks this too
        raise ValueError("listening beyond this machine needs a password")
    app = annotation_app(config.candidates, config.out, config.annotator, seed=config.seed)
    port = config.port or _free_port(config.host)
    session = app.annotation_session
    print(
        f"annotating {session.total} items as {session.annotator!r} ({len(session.done)} done); "
        f"judgements go to {session.out}\nopen http://{config.host}:{port}/ (Ctrl+C stops the server)",
        flush=True,
    )
    app.launch(
        server_name=config.host,
        server_port=port,
        auth=(config.annotator, config.password) if config.password else None,
        prevent_thread_lock=not block,
        theme=_theme(gr),
        quiet=True,
        share=False,
        footer_links=[],
        inbrowser=False,
        ssr_mode=False,
    )
    return app
