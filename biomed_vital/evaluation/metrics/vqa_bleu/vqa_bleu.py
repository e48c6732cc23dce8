"""``vqa_bleu``: sacrebleu corpus BLEU-4 (effective order) of the normalised replies against the answers, as a fraction.

An ``evaluate`` metric module shipped inside biomed_vital; load it by path, which works offline::

    >>> import evaluate
    >>> from biomed_vital.evaluation import metric_path
    >>> metric = evaluate.load(metric_path("vqa_bleu"))
    >>> metric.compute(predictions=["left lung shows consolidation"], references=["right lung shows consolidation"])
    {'bleu': 0.5946035575013604}

The computation is :func:`biomed_vital.evaluation.bleu`; this module only declares the inputs.
"""

import datasets
import evaluate

from biomed_vital.evaluation.vqa_metrics import bleu

_DESCRIPTION = (
    "sacrebleu corpus BLEU-4 (effective order) of the normalised replies against the answers, as a fraction."
)
_KWARGS_DESCRIPTION = """
Args:
    predictions: the model's replies (strings).
    references: the ground-truth answers (strings), one per reply.
Returns:
    bleu: a fraction in [0, 1].
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
class VqaBleu(evaluate.Metric):
    """sacrebleu corpus BLEU-4 (effective order) of the normalised replies against the answers, as a fraction."""

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
        return {"bleu": bleu(predictions, references)}
