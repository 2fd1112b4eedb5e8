"""The baseline a tagger must beat: each word's most frequent tag.

Chapter: walkthrough/13_tagging.md. The classic part-of-speech baseline (Charniak et al. 1993):
tag each word seen in training with the tag it carried most often there,

    tag(w) = argmax_y count(w, y)                    for a word w seen in training

and every unseen word with the most frequent tag of an *open* class, the classes that take new
words (by default the UPOS open classes ADJ, ADV, INTJ, NOUN, PROPN, VERB): an unknown word is
far more likely a new noun than a new determiner. If no open-class tag occurs in training (a tag
set without them), the unseen word gets the most frequent tag overall.

Among the taggers that look at the word alone, this one has the highest accuracy on the
training data, so whatever a model gains over it comes from context or from spelling.

Ties are broken the same way everywhere, so the result depends on the counts only, never on
the order of the sentences: among tags with the same count, the one more frequent over the
whole training data wins, then the alphabetically first. Words are matched exactly (case
included: "May" and "may" are different words).

Notation map: `word_tags` is the table w -> tag(w); `unknown_tag` the unseen words' tag.
Deviations: none.
"""

from collections import Counter
from collections.abc import Sequence

UPOS_OPEN_CLASSES = ("ADJ", "ADV", "INTJ", "NOUN", "PROPN", "VERB")


class MostFrequentTagBaseline:
    """`fit(words, tags)` on tagged sentences, then `predict(words)`; no parameters to learn."""

    def __init__(self, open_classes: Sequence[str] = UPOS_OPEN_CLASSES):
        self.open_classes = tuple(open_classes)
        self.word_tags: dict[str, str] = {}
        self.tag_counts: Counter[str] = Counter()
        self.unknown_tag: str | None = None

    def fit(self, words: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]) -> "MostFrequentTagBaseline":
        """Count (word, tag) pairs over the sentences; `tags[i][k]` is the tag of `words[i][k]`."""
        if len(words) != len(tags):
            raise ValueError(f"fit: expected as many tag sequences as sentences, got {len(tags)} and {len(words)}")
        pairs: dict[str, Counter[str]] = {}
        tag_counts: Counter[str] = Counter()
        for i, (sentence, sentence_tags) in enumerate(zip(words, tags)):
            if len(sentence) != len(sentence_tags):
                raise ValueError(f"fit: sentence {i} has {len(sentence)} words but {len(sentence_tags)} tags")
            for word, tag in zip(sentence, sentence_tags):
                pairs.setdefault(word, Counter())[tag] += 1
                tag_counts[tag] += 1
        if not tag_counts:
            raise ValueError("fit: expected at least one tagged word, got none")
        self.tag_counts = tag_counts
        self.word_tags = {word: self._most_frequent(counts) for word, counts in pairs.items()}
        open_counts = Counter({tag: n for tag, n in tag_counts.items() if tag in self.open_classes})
        self.unknown_tag = self._most_frequent(open_counts or tag_counts)
        return self

    def _most_frequent(self, counts: Counter[str]) -> str:
        """The tag with the highest count; ties: more frequent overall, then alphabetically first."""
        return min(counts, key=lambda tag: (-counts[tag], -self.tag_counts[tag], tag))

    def is_known(self, word: str) -> bool:
        """True if the word occurred in the training data."""
        return word in self.word_tags

    def predict(self, words: Sequence[Sequence[str]]) -> list[list[str]]:
        """The tag of every word of every sentence."""
        if self.unknown_tag is None:
            raise ValueError("predict: the baseline has not been fitted; call fit(words, tags) first")
        return [[self.word_tags.get(word, self.unknown_tag) for word in sentence] for sentence in words]
