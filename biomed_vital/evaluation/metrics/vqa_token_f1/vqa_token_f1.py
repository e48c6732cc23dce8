"""``vqa_token_f1``: Mean token-overlap F1 of reply and answer after normalisation.

An ``evaluate`` metric module shipped inside biomed_vital; load it by path, which works offline::

    >>> import evaluate
    >>> from biomed_vital.evaluation import metric_path
    >>> metric = evaluate.load(metric_path("vqa_token_f1"))
    >>> metric.compute(predictions=["right lower lobe mass"], references=["right lower lobe"])
    {'token_f1': 0.8571428571428571}

The computation is :func:`biomed_vital.evaluation.token_f1`; this module only declares the inputs.
"""

import datasets
import evaluate

from biomed_vital.evaluation.vqa_metrics import token_f1

_DESCRIPTION = "Mean token-overlap F1 of reply and answer after normalisation."
_KWARGS_DESCRIPTION = """
Args:
    predictions: the model's replies (strings).
    references: the ground-truth answers (strings), one per reply.
Returns:
    token_f1: a fraction in [0, 1].
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
class VqaTokenF1(evaluate.Metric):
    """Mean token-overlap F1 of reply and answer after normalisation."""

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
        return {"token_f1": token_f1(predictions, references)}
