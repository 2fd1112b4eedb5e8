"""Token tagging (synchronous many-to-many): one tag per word, as part-of-speech tagging.

Chapter 13 of the walkthrough (walkthrough/13_tagging.md). Modules:
  crf         the linear-chain CRF output layer: sequence score, forward algorithm, Viterbi, NLL
  characters  `CharacterEncoder`: a word's vector from its spelling, for words never seen in training
  baseline    `MostFrequentTagBaseline`: the most frequent tag of each word, the score to beat

The CoNLL-U reader is a task (`transformer.tasks.conllu`); the figures are in
`transformer.plotting.tagging`.
"""

from transformer.tagging.baseline import UPOS_OPEN_CLASSES, MostFrequentTagBaseline
from transformer.tagging.characters import CHARACTER_ENCODERS, CharacterEncoder
from transformer.tagging.crf import (
    LinearChainCRF,
    crf_nll,
    log_partition,
    sequence_score,
    viterbi_decode,
    viterbi_lattice,
)

__all__ = [
    "CHARACTER_ENCODERS",
    "UPOS_OPEN_CLASSES",
    "CharacterEncoder",
    "LinearChainCRF",
    "MostFrequentTagBaseline",
    "crf_nll",
    "log_partition",
    "sequence_score",
    "viterbi_decode",
    "viterbi_lattice",
]
