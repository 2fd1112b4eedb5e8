"""Spec for vocabularies and tokenizers (chapter 01): fixed specials, UNK, train-only vocabularies,
and tokenizers that give back the text they were given."""

import json
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transformer.tasks import (
    BOS,
    EOS,
    JOINER,
    PAD,
    SPECIALS,
    UNK,
    CharTokenizer,
    TextCodec,
    Vocabulary,
    WhitespaceTokenizer,
    WordTokenizer,
    get_tokenizer,
    normalize_whitespace,
)
from transformer.tasks.registry import from_text_pairs

pytestmark = pytest.mark.tokens

WORDS = st.text(alphabet="abcdefgh", min_size=1, max_size=3)
SENTENCES = st.lists(st.lists(WORDS, max_size=8), max_size=12)
# Letters (with umlauts and ß), digits, punctuation, quotes, symbols and assorted whitespace.
TEXT = st.text(alphabet=st.sampled_from(list("abcXYZäöüßé0129 .,;:!?-'\"()[]/&%_\t\n\u00a0\u2028€…")), max_size=40)
ANY_TEXT = st.text(alphabet=st.characters(blacklist_characters=JOINER, blacklist_categories=("Cs",)), max_size=30)
TOKENIZERS = [WordTokenizer(), CharTokenizer(), WhitespaceTokenizer()]


def test_specials_have_the_fixed_ids():
    """PAD, BOS, EOS, UNK are 0, 1, 2, 3 in every vocabulary, so masks never need a lookup."""
    assert (PAD, BOS, EOS, UNK) == (0, 1, 2, 3), f"PAD, BOS, EOS, UNK are {(PAD, BOS, EOS, UNK)}, expected 0..3"
    vocab = Vocabulary.build([["b", "a", "b"]])
    first = [vocab.token(i) for i in range(4)]
    assert first == list(SPECIALS), f"ids 0-3 hold {first}, expected the specials {list(SPECIALS)}"
    ids = (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id)
    assert ids == (PAD, BOS, EOS, UNK), f"the vocabulary's special ids are {ids}, expected {(PAD, BOS, EOS, UNK)}"
    looked_up = [vocab.id(s) for s in SPECIALS]
    assert looked_up == [PAD, BOS, EOS, UNK], f"looking the specials up gives {looked_up}"


@given(SENTENCES, st.integers(1, 3))
def test_specials_come_first_whatever_the_data(sentences, min_freq):
    """Built from any data, ids 0-3 are the specials and every other token comes after them."""
    vocab = Vocabulary.build(sentences, min_freq=min_freq)
    assert vocab.tokens[:4] == list(SPECIALS), f"specials moved: {vocab.tokens[:4]}"


@given(SENTENCES)
def test_encode_then_decode_gives_the_tokens_back(sentences):
    """Every training token has its own id, so decode(encode(tokens)) is the identity."""
    vocab = Vocabulary.build(sentences)
    for tokens in sentences:
        assert vocab.decode(vocab.encode(tokens)) == tokens, f"round trip broke for {tokens}"


@given(SENTENCES, WORDS)
def test_unknown_tokens_map_to_unk(sentences, word):
    """A token the vocabulary does not hold is encoded as UNK and decoded as `<unk>`."""
    vocab = Vocabulary.build(sentences)
    unseen = word + "z"  # "z" is outside the training alphabet
    found = (vocab.encode([unseen]), vocab.id(unseen))
    assert found == ([UNK], UNK), f"the unseen token {unseen!r} is encoded as {found}, expected UNK = {UNK}"
    assert vocab.decode([UNK]) == ["<unk>"], f"UNK decodes as {vocab.decode([UNK])}, expected ['<unk>']"


def test_vocabulary_is_built_from_the_training_split_only():
    """A word that occurs only in the test split is UNK, as it would be for new text."""
    text_pairs = {"train": [("ein hund", "a dog")], "valid": [("eine katze", "a cat")],
                  "test": [("ein pferd", "a horse")]}
    data = from_text_pairs("toy", text_pairs, WordTokenizer(), WordTokenizer())
    assert "horse" not in data.tgt_vocab and "pferd" not in data.src_vocab, "a test-only word entered a vocabulary"
    expected = [([data.src_vocab.id("ein"), UNK], [data.tgt_vocab.id("a"), UNK])]
    assert data.test == expected, f"the test pair is encoded as {data.test}, expected {expected} (test-only words as UNK)"
    assert data.references["test"] == ["a horse"], "raw references must keep the unknown word"


@given(SENTENCES, st.integers(1, 4))
def test_min_freq_keeps_exactly_the_frequent_tokens(sentences, min_freq):
    """A token is in the vocabulary iff it occurs at least min_freq times in the training data."""
    counts = Counter(token for tokens in sentences for token in tokens)
    vocab = Vocabulary.build(sentences, min_freq=min_freq)
    expected = {t for t, n in counts.items() if n >= min_freq}
    assert set(vocab.tokens[4:]) == expected, (
        f"kept {sorted(set(vocab.tokens[4:]) ^ expected)} wrongly at min_freq={min_freq}")


@given(SENTENCES, st.integers(4, 9))
def test_max_size_keeps_the_most_frequent_tokens(sentences, max_size):
    """max_size caps the vocabulary (specials included) and drops the rarest tokens first."""
    counts = Counter(token for tokens in sentences for token in tokens)
    vocab = Vocabulary.build(sentences, max_size=max_size)
    expected = min(max_size, 4 + len(counts))
    assert len(vocab) == expected, f"{len(vocab)} entries at max_size={max_size}, expected {expected} (specials included)"
    kept, dropped = vocab.tokens[4:], set(counts) - set(vocab.tokens)
    if kept and dropped:
        rarest_kept, commonest_dropped = min(counts[t] for t in kept), max(counts[t] for t in dropped)
        assert rarest_kept >= commonest_dropped, (
            f"a token seen {commonest_dropped} times was dropped while one seen {rarest_kept} times was kept")


@given(SENTENCES, st.randoms(use_true_random=False))
def test_ids_do_not_depend_on_the_order_of_the_data(sentences, rng):
    """Ties in frequency are broken alphabetically, so shuffled data gives the same ids."""
    shuffled = list(sentences)
    rng.shuffle(shuffled)
    assert Vocabulary.build(sentences) == Vocabulary.build(shuffled), "shuffling the data changed the ids"


def test_decode_drops_pad_and_bos_and_stops_at_eos():
    """A model's output (BOS, tokens, EOS, then anything) decodes to the tokens before EOS."""
    vocab = Vocabulary(["a", "b"])
    decoded = vocab.decode([BOS, 4, 5, PAD, 4, EOS, 5, 4])
    assert decoded == ["a", "b", "a"], f"decoded {decoded}, expected ['a', 'b', 'a']: no BOS or PAD, nothing after EOS"


@given(SENTENCES)
def test_vocabulary_survives_json(sentences):
    """to_dict is JSON-serialisable and from_dict gives an equal vocabulary (for checkpoints)."""
    vocab = Vocabulary.build(sentences)
    assert Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict()))) == vocab, "the vocabulary changed through JSON"


def test_vocabulary_errors_name_the_problem():
    """Bad arguments are refused with one line that names what was expected."""
    with pytest.raises(ValueError, match="min_freq >= 1"):
        Vocabulary.build([["a"]], min_freq=0)
    with pytest.raises(ValueError, match="max_size >= 4"):
        Vocabulary.build([["a"]], max_size=2)
    with pytest.raises(ValueError, match="distinct tokens"):
        Vocabulary(["a", "a"])
    with pytest.raises(ValueError, match="specials"):
        Vocabulary(["<unk>"])
    with pytest.raises(ValueError, match="expected specials"):
        Vocabulary.from_dict({"specials": ["<s>"], "tokens": []})
    with pytest.raises(ValueError, match=r"id in \[0, 5\)"):
        Vocabulary(["a"]).token(5)


@pytest.mark.parametrize("tokenizer", TOKENIZERS, ids=lambda t: t.name)
@given(text=TEXT)
def test_detokenize_inverts_tokenize(tokenizer, text):
    """detokenize(tokenize(text)) is the text with whitespace normalised: output can be scored raw."""
    tokens = tokenizer.tokenize(text)
    assert tokenizer.detokenize(tokens) == normalize_whitespace(text), f"{tokenizer.name} lost text: {tokens}"


@given(text=ANY_TEXT)
def test_word_tokenizer_round_trips_any_unicode_text(text):
    """The word tokenizer's round trip holds for arbitrary Unicode, not just the usual alphabet."""
    tokenizer = WordTokenizer()
    tokens = tokenizer.tokenize(text)
    assert tokenizer.detokenize(tokens) == normalize_whitespace(text), f"{text!r} comes back as {tokenizer.detokenize(tokens)!r}"


@given(st.lists(TEXT, max_size=4))
def test_word_tokenizer_treats_space_separated_pieces_independently(pieces):
    """Tokenizing "a b" is tokenizing "a" then "b": a token never spans a space, joiners never cross one."""
    tokenizer = WordTokenizer()
    whole = tokenizer.tokenize(" ".join(pieces))
    separately = [token for piece in pieces for token in tokenizer.tokenize(piece)]
    assert whole == separately, f"{pieces} tokenized together gives {whole}, piece by piece {separately}"


@given(TEXT)
def test_words_never_carry_a_joiner(text):
    """Only punctuation tokens are marked, so "dog" is one entry whatever follows it."""
    for token in WordTokenizer().tokenize(text):
        if token.strip(JOINER) != token:
            assert not any(c.isalnum() for c in token), f"word token {token!r} carries a joiner"


def test_word_tokenizer_examples():
    """The hyphen of "forty-two" and the full stop of "dog." become reversible joiner tokens."""
    tokenizer = WordTokenizer()
    examples = {
        "three hundred and forty-two": ["three", "hundred", "and", "forty", "￭-￭", "two"],
        "A dog (brown) runs.": ["A", "dog", "(￭", "brown", "￭)", "runs", "￭."],
    }
    for text, expected in examples.items():
        tokens = tokenizer.tokenize(text)
        assert tokens == expected, f"{text!r} gives {tokens}, expected {expected}"
    text = tokenizer.detokenize(["A", "dog", "<unk>", "￭."])
    assert text == "A dog <unk>.", f"detokenize gives {text!r}, expected 'A dog <unk>.'"
    characters = CharTokenizer().tokenize("ein  hund")
    assert characters == list("ein hund"), f"characters {characters}: runs of spaces should shrink to one"


def test_word_tokenizer_refuses_its_joiner_in_the_text():
    """The joiner is reserved; text containing it could not be given back unchanged."""
    with pytest.raises(ValueError, match="reserved joiner"):
        WordTokenizer().tokenize(f"a {JOINER} b")


@pytest.mark.parametrize("tokenizer", TOKENIZERS, ids=lambda t: t.name)
def test_tokenizers_are_found_by_name_and_codecs_survive_json(tokenizer):
    """A checkpoint stores the tokenizer's name and the vocabulary; both come back equal."""
    found = type(get_tokenizer(tokenizer.name))
    assert found is type(tokenizer), f"get_tokenizer({tokenizer.name!r}) gives a {found.__name__}"
    codec = TextCodec(tokenizer, Vocabulary.build([tokenizer.tokenize("a dog, a cat.")]))
    restored = TextCodec.from_dict(json.loads(json.dumps(codec.to_dict())))
    assert restored.vocab == codec.vocab, "the codec's vocabulary changed through JSON"
    assert restored.tokenizer.name == tokenizer.name, f"the tokenizer came back as {restored.tokenizer.name!r}"
    ours, theirs = restored.decode(restored.encode("a cat, a dog.")), codec.decode(codec.encode("a cat, a dog."))
    assert ours == theirs, f"the restored codec gives {ours!r}, the original {theirs!r}"
    with pytest.raises(ValueError, match="unknown tokenizer 'bpe'"):
        get_tokenizer("bpe")


# Subword units (the paper's BPE): merges learned from a corpus that holds every character of TEXT,
# so a round trip never meets an unknown character.
# (each letter alone and inside a word: BPE knows a letter that starts a word apart from one that
# continues it). Punctuation stays whole, so a mark of TEXT needs no training.
BPE_CORPUS = ["Ein Hund läuft über die Straße.", "Zwei Hunde laufen; drei Hündinnen schlafen!",
              "\"Fußballspieler\" (10) spielen Fußball.", "a b c X Y Z ä ö ü ß é 0 1 2 9 _ abcXYZäöüßé0129_ _9210éßüöäZYXcba",
              "Ein Mann läuft, ein Hund schläft."] * 3


@pytest.fixture(scope="module")
def bpe():
    from transformer.tasks import SubwordTokenizer

    return SubwordTokenizer.learn(BPE_CORPUS, vocab_size=160)


@given(text=ANY_TEXT)
def test_subword_round_trip_holds_for_any_text(bpe, text):
    """Even characters the merges never saw come back (as pieces a vocabulary would call <unk>)."""
    assert bpe.detokenize(bpe.tokenize(text)) == normalize_whitespace(text), f"{text!r} does not come back"


@given(text=TEXT)
def test_subword_detokenize_inverts_tokenize(bpe, text):
    """BPE pieces glue back into the words they came from: output in pieces can be scored raw."""
    tokens = bpe.tokenize(text)
    assert "<unk>" not in tokens, f"{text!r}: every character was in the corpus, yet {tokens} holds <unk>"
    assert bpe.detokenize(tokens) == normalize_whitespace(text), f"{text!r} comes back as {bpe.detokenize(tokens)!r}"


@given(text=TEXT)
def test_subword_pieces_cut_words_and_only_continue_within_one(bpe, text):
    """Each word becomes its first piece and `##` continuations that spell the rest of it, in order."""
    pieces = iter(bpe.tokenize(text))
    for word in WordTokenizer().tokenize(text):
        first = next(pieces)
        assert not first.startswith("##"), f"{word!r} starts with a continuation piece {first!r}"
        spelled = first
        while len(spelled) < len(word):
            piece = next(pieces)
            assert piece.startswith("##"), f"{word!r}: piece {piece!r} after {spelled!r} should continue the word"
            spelled += piece[2:]
        assert spelled == word, f"the pieces of {word!r} spell {spelled!r}"
    assert next(pieces, None) is None, f"{text!r}: pieces left over after its last word"


def test_subword_merges_are_learned_the_same_way_twice_and_survive_json(bpe):
    """The same corpus gives the same merges; a codec's JSON carries them, so a run folder reads text again."""
    from transformer.tasks import SubwordTokenizer

    again = SubwordTokenizer.learn(BPE_CORPUS, vocab_size=160)
    assert again.to_dict() == bpe.to_dict(), "learning on the same corpus twice gave different merges"
    tokens = bpe.tokenize("Zwei Hunde laufen über die Straße.")
    assert tokens[:3] == ["Zwei", "Hunde", "laufen"], f"frequent words should be whole pieces, got {tokens}"
    rare = bpe.tokenize("Straßenhunde")
    assert len(rare) > 1 and "<unk>" not in rare, f"a word never seen should become known pieces, got {rare}"
    codec = TextCodec(bpe, Vocabulary(bpe.pieces()))
    restored = TextCodec.from_dict(json.loads(json.dumps(codec.to_dict())))
    text = "Zwei Hündinnen spielen Fußball."
    assert restored.tokenizer.tokenize(text) == bpe.tokenize(text), "the restored tokenizer cuts text differently"
    assert UNK not in codec.encode(text), f"a vocabulary of all pieces has no <unk> for {text!r}"
    assert restored.decode(restored.encode(text)) == text, f"{text!r} comes back as {restored.decode(restored.encode(text))!r}"
    with pytest.raises(ValueError, match="vocab_size >= 1"):
        SubwordTokenizer.learn(BPE_CORPUS, vocab_size=0)
