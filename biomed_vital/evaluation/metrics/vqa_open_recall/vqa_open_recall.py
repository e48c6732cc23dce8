"""``vqa_open_recall``: Open-question recall: the share of the ground-truth answer's tokens found in the reply (LLaVA-Med's open-question score).

An ``evaluate`` metric module shipped inside biomed_vital; load it by path, which works offline::

    >>> import evaluate
    >>> from biomed_vital.evaluation import metric_path
    >>> metric = evaluate.load(metric_path("vqa_open_recall"))
    >>> metric.compute(predictions=["Right lower lobe pneumonia."], references=["right lower lobe"])
    {'open_recall': 1.0}

The computation is :func:`biomed_vital.evaluation.open_recall`; this module only declares the inputs.
"""

import datasets
import evaluate

from biomed_vital.evaluation.vqa_metrics import open_recall

_DESCRIPTION = "Open-question recall: the share of the ground-truth answer's tokens found in the reply (LLaVA-Med's open-question score)."
_KWARGS_DESCRIPTION = """
Args:
    predictions: the model's replies (strings).
    references: the ground-truth answers (strings), one per reply.
Returns:
    open_recall: a fraction in [0, 1].
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
class VqaOpenRecall(evaluate.Metric):
    """Open-question recall: the share of the ground-truth answer's tokens found in the reply (LLaVA-Med's open-question score)."""

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
        return {"open_recall": open_recall(predictions, references)}
