"""Spec for the most-frequent-tag baseline (chapter 13): each known word's majority tag, unknown words
the most frequent open-class tag, ties broken by the counts alone, never by sentence order."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transformer.tagging.baseline import UPOS_OPEN_CLASSES, MostFrequentTagBaseline

pytestmark = pytest.mark.tagging

WORDS = ["the", "dog", "runs", "fast", "a", "cat", "May", "may"]
TAGS = ["DET", "NOUN", "VERB", "ADV", "ADJ", "PRON", "AUX", "PROPN"]


@st.composite
def corpora(draw) -> tuple[list[list[str]], list[list[str]]]:
    """Tagged sentences over a small vocabulary, so words repeat with several tags and counts tie."""
    sentences = draw(st.lists(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(TAGS)), min_size=1, max_size=6),
                              min_size=1, max_size=6))
    return [[w for w, _ in s] for s in sentences], [[t for _, t in s] for s in sentences]


def flat(sentences):
    return [item for sentence in sentences for item in sentence]


@given(corpus=corpora())
def test_a_known_word_gets_a_tag_it_carried_most_often(corpus):
    """tag(w) = argmax_y count(w, y): no other tag was seen more often with the word."""
    words, tags = corpus
    baseline = MostFrequentTagBaseline().fit(words, tags)
    pairs = Counter(zip(flat(words), flat(tags)))
    for word in set(flat(words)):
        predicted = baseline.predict([[word]])[0][0]
        best = max(n for (w, _), n in pairs.items() if w == word)
        assert pairs[word, predicted] == best, (
            f"{word!r}: predicted {predicted!r} seen {pairs[word, predicted]} times, the best tag {best} times")


@given(corpus=corpora())
def test_an_unknown_word_gets_the_most_frequent_open_class_tag(corpus):
    """An unseen word is far likelier a new noun or verb than a new determiner."""
    words, tags = corpus
    baseline = MostFrequentTagBaseline().fit(words, tags)
    counts = Counter(flat(tags))
    open_counts = {tag: n for tag, n in counts.items() if tag in UPOS_OPEN_CLASSES} or counts
    predicted = baseline.predict([["zebra"]])[0][0]
    assert not baseline.is_known("zebra") and baseline.is_known(words[0][0]), "is_known is wrong"
    assert open_counts.get(predicted) == max(open_counts.values()), (
        f"unknown word tagged {predicted!r}; open-class counts are {open_counts}")


@given(corpus=corpora())
def test_no_tagger_that_reads_only_the_word_does_better_on_the_training_data(corpus):
    """Each word's majority tag maximises training accuracy word by word, so it bounds any word-only tagger."""
    words, tags = corpus
    predicted = MostFrequentTagBaseline().fit(words, tags).predict(words)
    correct = sum(p == t for p, t in zip(flat(predicted), flat(tags)))
    for word in set(flat(words)):
        for other in TAGS:  # change the tag of one word to any other: never more correct
            changed = sum((other if w == word else p) == t for w, p, t in zip(flat(words), flat(predicted), flat(tags)))
            assert changed <= correct, f"tagging {word!r} as {other!r} gives {changed} correct, the baseline {correct}"


@given(corpus=corpora(), data=st.data())
def test_predictions_do_not_depend_on_the_order_of_the_training_sentences(corpus, data):
    """Ties are broken by counts and then by name, never by which sentence came first."""
    words, tags = corpus
    order = data.draw(st.permutations(range(len(words))))
    shuffled = MostFrequentTagBaseline().fit([words[i] for i in order], [tags[i] for i in order])
    baseline = MostFrequentTagBaseline().fit(words, tags)
    assert shuffled.word_tags == baseline.word_tags and shuffled.unknown_tag == baseline.unknown_tag, (
        f"sentence order changed the predictions: {baseline.word_tags} vs {shuffled.word_tags}")


def test_ties_go_to_the_tag_more_frequent_overall_then_to_the_first_by_name():
    """'run' is NOUN once and VERB once; VERB is more frequent overall. 'fly': NOUN and VERB tie everywhere -> NOUN."""
    words = [["run", "run", "go", "go"], ["fly", "fly"]]
    tags = [["NOUN", "VERB", "VERB", "VERB"], ["VERB", "NOUN"]]
    baseline = MostFrequentTagBaseline().fit(words, tags)
    assert baseline.predict([["run"]]) == [["VERB"]], "a tie should go to the tag more frequent overall"
    tied = MostFrequentTagBaseline().fit([["fly", "fly"]], [["VERB", "NOUN"]])
    assert tied.predict([["fly", "zebra"]]) == [["NOUN", "NOUN"]], "a full tie should go to the first tag by name"


def test_unknown_words_fall_back_to_the_most_frequent_tag_without_open_classes():
    """A tag set with none of the open classes (here: XPOS-like tags) still tags unseen words."""
    words, tags = [["the", "dog", "the"]], [["DT", "NN", "DT"]]
    predicted = MostFrequentTagBaseline().fit(words, tags).predict([["cat"]])
    assert predicted == [["DT"]], f"no open class among the tags: the unseen word should get DT, got {predicted}"
    chosen = MostFrequentTagBaseline(open_classes=("NN", "VB")).fit(words, tags)
    assert chosen.predict([["cat"]]) == [["NN"]], "open_classes given: the unseen word should get NN"


def test_words_are_matched_exactly_case_included():
    baseline = MostFrequentTagBaseline().fit([["May", "may"]], [["PROPN", "AUX"]])
    predicted = baseline.predict([["May", "may", "MAY"]])
    assert predicted == [["PROPN", "AUX", "PROPN"]], (
        f"May and may are two words, MAY an unseen one (most frequent tag PROPN): got {predicted}")


def test_bad_input_is_refused_in_one_line():
    with pytest.raises(ValueError, match="fit: sentence 1 has 2 words but 1 tags"):
        MostFrequentTagBaseline().fit([["a"], ["b", "c"]], [["X"], ["Y"]])
    with pytest.raises(ValueError, match="fit: expected as many tag sequences as sentences, got 1 and 2"):
        MostFrequentTagBaseline().fit([["a"], ["b"]], [["X"]])
    with pytest.raises(ValueError, match="fit: expected at least one tagged word, got none"):
        MostFrequentTagBaseline().fit([], [])
    with pytest.raises(ValueError, match="has not been fitted"):
        MostFrequentTagBaseline().predict([["a"]])
