"""How to cite BioMed-VITAL: the BibTeX entry every dataset and model card ends with.

Example:
    >>> from biomed_vital.hub import CITATION
    >>> CITATION.splitlines()[0]
    '@inproceedings{cui2024biomedvital,'
"""

from __future__ import annotations

__all__ = ["CITATION", "citation_section"]

CITATION = """@inproceedings{cui2024biomedvital,
  title     = {Biomedical Visual Instruction Tuning with Clinician Preference Alignment},
  author    = {Cui, Hejie and Mao, Lingjun and Liang, Xin and Zhang, Jieyu and Ren, Hui and
               Li, Quanzheng and Li, Xiang and Yang, Carl},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS), Datasets and Benchmarks Track},
  year      = {2024},
  eprint    = {2406.13173},
  archivePrefix = {arXiv},
  url       = {https://arxiv.org/abs/2406.13173}
}"""


def citation_section() -> list[str]:
    """The card's closing ``## Citation`` section, as Markdown lines.

    Example:
        >>> citation_section()[:3]
        ['## Citation', '', '```bibtex']
    """
    return ["## Citation", "", "```bibtex", CITATION, "```", ""]
