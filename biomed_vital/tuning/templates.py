"""Chat templates of the original LLaVA checkpoints, with `{% generation %}` markers for assistant-only loss.

Converted checkpoints (:mod:`biomed_vital.tuning.convert`) need the prompt format they were trained with, and
training needs the answers marked. Two formats are provided, rendered exactly as the original conversation
code renders them (the image goes first in the first user turn, as ``<image>\\n``; the tokenizer's BOS token
starts the text, since TRL tokenizes without adding special tokens):

* ``vicuna_v1``: LLaVA-1.5 and the Vicuna-based LLaVA models (LLaVA's ``v1`` conversation):
  ``<s>SYSTEM USER: <image>\\nQUESTION ASSISTANT: ANSWER</s>USER: ...``;
* ``mistral_instruct``: LLaVA-Med v1.5 (Mistral-7B-Instruct):
  ``<s>[INST]  <image>\\nQUESTION [/INST]ANSWER</s>[INST] ...``.

When the original model used image start / end tokens (``mm_use_im_start_end``), pass `image_wrapper` so the
image is written as ``<im_start><image><im_end>``.

Example:
    >>> from biomed_vital.tuning import chat_template
    >>> template = chat_template("mistral_instruct")
    >>> "{% generation %}" in template
    True
"""

from __future__ import annotations

__all__ = ["CHAT_TEMPLATES", "VICUNA_V1_SYSTEM", "chat_template"]

#: The system prompt of LLaVA's ``v1`` conversation (the text the Vicuna-based checkpoints were trained with).
VICUNA_V1_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)

# Text of a message whose content is a string or a list of typed parts; IMAGE is replaced per template.
_CONTENT = (
    "{%- if message['content'] is string -%}{{- message['content'] | trim -}}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- IMAGE -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] | trim -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
)

_VICUNA_V1 = (
    "{{- bos_token -}}"
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{%- set system = messages[0]['content'] if messages[0]['content'] is string "
    "else messages[0]['content'][0]['text'] -%}{%- set turns = messages[1:] -%}"
    "{%- else -%}{%- set system = DEFAULT_SYSTEM -%}{%- set turns = messages -%}{%- endif -%}"
    "{{- system ~ ' ' -}}"
    "{%- for message in turns -%}"
    "{%- if message['role'] == 'user' -%}{{- 'USER: ' -}}" + _CONTENT + "{{- ' ' -}}"
    "{%- elif message['role'] == 'assistant' -%}{{- 'ASSISTANT: ' -}}"
    "{%- generation -%}" + _CONTENT + "{{- eos_token -}}{%- endgeneration -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'ASSISTANT:' -}}{%- endif -%}"
)

_MISTRAL_INSTRUCT = (
    "{{- bos_token -}}"
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{%- set system = messages[0]['content'] if messages[0]['content'] is string "
    "else messages[0]['content'][0]['text'] -%}{%- set turns = messages[1:] -%}"
    "{%- else -%}{%- set system = '' -%}{%- set turns = messages -%}{%- endif -%}"
    "{%- for message in turns -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{- '[INST] ' -}}{%- if loop.first -%}{{- system ~ ' ' -}}{%- endif -%}"
    + _CONTENT
    + "{{- ' [/INST]' -}}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{%- generation -%}" + _CONTENT + "{{- eos_token -}}{%- endgeneration -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
)

#: Template name -> Jinja source (before the image token and default system prompt are filled in).
CHAT_TEMPLATES: dict[str, str] = {"vicuna_v1": _VICUNA_V1, "mistral_instruct": _MISTRAL_INSTRUCT}


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def chat_template(
    name: str, *, image_token: str = "<image>", image_wrapper: tuple[str, str] = ("", "")
) -> str:
    """The Jinja chat template `name` (``vicuna_v1`` or ``mistral_instruct``) for a processor.

    Args:
        name: the template's name, one of :data:`CHAT_TEMPLATES`.
        image_token: the processor's image token (the processor expands it to the image's feature tokens).
        image_wrapper: text written before and after the image token, e.g. ``("<im_start>", "<im_end>")``.

    Example:
        >>> chat_template("vicuna_v1").startswith("{{- bos_token -}}")
        True
    """
    if name not in CHAT_TEMPLATES:
        raise ValueError(
            f"unknown chat template {name!r}; use one of {sorted(CHAT_TEMPLATES)} or a .jinja file"
        )
    before, after = image_wrapper
    source = CHAT_TEMPLATES[name]
    source = source.replace("IMAGE", _quoted(f"{before}{image_token}{after}\n"))
    return source.replace("DEFAULT_SYSTEM", _quoted(VICUNA_V1_SYSTEM))
