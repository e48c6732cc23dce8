"""``vqa_closed_accuracy``: Closed-question (yes/no or choice) accuracy with word-boundary and negation-aware yes/no extraction.

An ``evaluate`` metric module shipped inside biomed_vital; load it by path, which works offline::

    >>> import evaluate
    >>> from biomed_vital.evaluation import metric_path
    >>> metric = evaluate.load(metric_path("vqa_closed_accuracy"))
    >>> metric.compute(predictions=["No, there is no evidence of a fracture.", "Normal study."], references=["no", "no"])
    {'closed_accuracy': 0.5}

The computation is :func:`biomed_vital.evaluation.closed_accuracy`; this module only declares the inputs.
"""

import datasets
import evaluate

from biomed_vital.evaluation.vqa_metrics import closed_accuracy

_DESCRIPTION = (
    "Closed-question (yes/no or choice) accuracy with word-boundary and negation-aware yes/no extraction."
)
_KWARGS_DESCRIPTION = """
Args:
    predictions: the model's replies (strings).
    references: the ground-truth answers (strings), one per reply.
Returns:
    closed_accuracy: a fraction in [0, 1].
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
class VqaClosedAccuracy(evaluate.Metric):
    """Closed-question (yes/no or choice) accuracy with word-boundary and negation-aware yes/no extraction."""

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
        return {"closed_accuracy": closed_accuracy(predictions, references)}
