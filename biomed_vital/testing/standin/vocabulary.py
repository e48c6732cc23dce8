"""The fixed wording of the stand-in server: its reply marker, question templates and word lists.

The stand-in never poses as a medical model: every answer quotes the request's own caption and ends
with :data:`STANDIN_MARKER`. The term lists below are only used to find and quote the caption's own
wording, never to state a finding.

Example:
    >>> "chest" in REGION_TERMS and "the" in STOPWORDS
    True
"""

from __future__ import annotations

__all__ = ["MODALITY_TERMS", "QUESTIONS", "REGION_TERMS", "STANDIN_MARKER", "STOPWORDS"]

STANDIN_MARKER = "(offline stand-in reply)"

# Words that carry no content when checking whether an answer is grounded in the caption;
# the stand-in's own marker words are included so the marker never counts as evidence.
STOPWORDS = frozenset(
    """
    a about according also an and any are as at be been being but by can caption could described
    describes did do does figure for from has have here how i if image in into is it its may might more
    most no not of offline on or our part picture quote quoted read reads reply said say says show shown
    shows so some stand stand-in such text than that the their them then there these they this those to
    was we were what when where which while who why will with word words would you your
    """.split()  # noqa: SIM905 (a list literal would take a line per word)
)

# Terms looked up in the caption for the modality and region questions, in the order they are tried
# (longer names before their abbreviations).
MODALITY_TERMS = (
    "computed tomography",
    "magnetic resonance",
    "x-ray",
    "radiograph",
    "ultrasound",
    "sonograph",
    "histolog",
    "micrograph",
    "microscop",
    "immunohistochem",
    "staining",
    "stain",
    "angiogra",
    "scintigra",
    "bone scan",
    "fundus",
    "endoscop",
    "photograph",
    "pet",
    "mri",
    "ct",
    "mr",
    "h&e",
)
REGION_TERMS = tuple(
    """
    chest lung thorax heart cardiac brain head skull spine abdomen abdominal liver kidney renal pelvis
    knee tibia femur hand bone breast colon stomach eye retina skin tissue cell neck thyroid
    """.split()  # noqa: SIM905
)

# Two wordings of each question; a reply's variant picks one.
QUESTIONS = {
    "modality": ("What kind of image is this?", "Which imaging modality was used for this figure?"),
    "region": ("Which part of the body is shown?", "What organ or region does this image show?"),
    "findings": ("What are the main findings?", "What does the image show?"),
    "caption": ("What does the caption say about this figure?", "How is this figure described?"),
    "detail": ("Is there any further detail about this figure?", "What else is described for this figure?"),
}
