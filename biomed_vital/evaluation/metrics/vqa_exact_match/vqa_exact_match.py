"""``vqa_exact_match``: Exact match of the reply and the answer after normalisation (case, punctuation, articles, number words).

An ``evaluate`` metric module shipped inside biomed_vital; load it by path, which works offline::

    >>> import evaluate
    >>> from biomed_vital.evaluation import metric_path
    >>> metric = evaluate.load(metric_path("vqa_exact_match"))
    >>> metric.compute(predictions=["The liver.", "liver lesion"], references=["liver", "liver"])
    {'exact_match': 0.5}

The computation is :func:`biomed_vital.evaluation.exact_match`; this module only declares the inputs.
"""

import datasets
import evaluate

from biomed_vital.evaluation.vqa_metrics import exact_match

_DESCRIPTION = (
    "Exact match of the reply and the answer after normalisation (case, punctuation, articles, number words)."
)
_KWARGS_DESCRIPTION = """
Args:
    predictions: the model's replies (strings).
    references: the ground-truth answers (strings), one per reply.
Returns:
    exact_match: a fraction in [0, 1].
"""
_CITATION = """
@inproceedings{cui2024biomedvital,
  title={Biomedical Visual Instruction Tuning with Clinician Preference Alignment},
  author={Cui, Hejie and Mao, Lingjun and Liang, Xin and Zhang, Jieyu and Ren, Hui and Li, Quanzheng and Li, Xiang and Yang, Carl},
  booktitle={NeurIPS},
  year={2024}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class VqaExactMatch(evaluate.Metric):
    """Exact match of the reply and the answer after normalisation (case, punctuation, articles, number words)."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references):
        return {"exact_match": exact_match(predictions, references)}
