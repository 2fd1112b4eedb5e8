"""Tokenizers: text -> list of tokens, and back again.

Chapter: walkthrough/01_tokens_and_batches.md.

Every tokenizer here is *reversible*: `detokenize(tokenize(text)) == normalize_whitespace(text)`
(runs of whitespace become one space, none at the ends; `TextCharTokenizer` keeps the text exactly). That is what lets a translation model's
output be turned back into ordinary text and scored by sacreBLEU against the raw references,
instead of against a tokenized copy that would flatter or punish the model depending on how
its tokenizer and the metric's agree.

* `WordTokenizer` ("word"): words and single punctuation marks, for natural language. A
  punctuation token remembers on which side the raw text had no space with a joiner mark
  `JOINER` = "￭" (the convention of OpenNMT's tokenizer): "dog." -> `dog ￭.`,
  "forty-two" -> `forty ￭-￭ two`, "(a)" -> `(￭ a ￭)`. Words never carry a joiner, so "dog"
  is one vocabulary entry wherever it stands.
* `CharTokenizer` ("char"): one token per character, a space included.
* `TextCharTokenizer` ("text-char"): one token per character with the text's whitespace and line
  breaks untouched, for character-level language models.
* `WhitespaceTokenizer` ("whitespace"): tokens are what lies between spaces; for symbol
  sequences such as the copy task's `c a e b`.
* `SubwordTokenizer` ("bpe"): `WordTokenizer`'s words cut into byte-pair-encoding pieces
  learned from the training text (Sennrich et al. 2016), a piece that continues a word marked
  `##`: "Fußballspieler" -> `Fuß ##ball ##spieler`. A rare word becomes known pieces instead of
  `<unk>`. The merges travel with the tokenizer (`to_dict`) into a run folder.

Paper: Vaswani et al. 2017 use subword units (byte-pair encoding, Sennrich et al. 2016);
word-level vocabularies are this course's default, enough for Multi30k's short captions, and
`SubwordTokenizer` the paper's choice.
"""

import heapq
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

JOINER = "\uffed"  # "￭": marks a side of a punctuation token that had no space in the text

_WORD_OR_MARK = re.compile(r"(?P<word>\w+)|(?P<mark>[^\w\s])")
_WORD = re.compile(r"\w+")


def normalize_whitespace(text: str) -> str:
    """`text` with every run of whitespace replaced by one space and none at either end."""
    return " ".join(text.split())


@runtime_checkable
class Tokenizer(Protocol):
    """What a task needs from a tokenizer; `name` is what a checkpoint stores."""

    name: str

    def tokenize(self, text: str) -> list[str]: ...

    def detokenize(self, tokens: Sequence[str]) -> str: ...


class WordTokenizer:
    """Words (`\\w+`) and single punctuation marks, reversible through joiner marks."""

    name = "word"

    def tokenize(self, text: str) -> list[str]:
        """Split `text` into words and marks; a mark glued to its neighbour gets a joiner."""
        if JOINER in text:
            raise ValueError(f"WordTokenizer: the text contains the reserved joiner {JOINER!r}: {text[:60]!r}")
        tokens: list[str] = []
        for chunk in text.split():
            if chunk.isalnum():  # one plain word, the common case
                tokens.append(chunk)
                continue
            # inside a chunk every token is glued to the one before it
            for k, match in enumerate(_WORD_OR_MARK.finditer(chunk)):
                token = match.group()
                if k and match.lastgroup == "mark":
                    token = JOINER + token  # a mark glued to what precedes it
                elif k:
                    tokens[-1] += JOINER  # a word glued after a mark: mark the mark
                tokens.append(token)
        return tokens

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Join tokens with spaces, except across a joiner; drop the joiners."""
        pieces: list[str] = []
        glue_next = True  # no space before the first token
        for token in tokens:
            left, right = token.startswith(JOINER), len(token) > 1 and token.endswith(JOINER)
            if not (glue_next or left):
                pieces.append(" ")
            pieces.append(token.strip(JOINER))
            glue_next = right
        return "".join(pieces)


class CharTokenizer:
    """One token per character (whitespace normalised first, so a space is the token " ")."""

    name = "char"

    def tokenize(self, text: str) -> list[str]:
        return list(normalize_whitespace(text))

    def detokenize(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)


class TextCharTokenizer:
    """One token per character, whitespace and line breaks kept as they are: for language models,
    whose text's layout (Shakespeare's verse lines) is part of what they learn."""

    name = "text-char"

    def tokenize(self, text: str) -> list[str]:
        return list(text)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)


class WhitespaceTokenizer:
    """Tokens are the pieces between whitespace: for symbol sequences like `c a e b`."""

    name = "whitespace"

    def tokenize(self, text: str) -> list[str]:
        return text.split()

    def detokenize(self, tokens: Sequence[str]) -> str:
        return " ".join(tokens)


CONTINUES = "##"  # the mark of a subword piece that continues the word before it


class SubwordTokenizer:
    """`WordTokenizer`'s words, each cut into byte-pair-encoding pieces (Sennrich et al. 2016);
    pieces after a word's first start with `CONTINUES`. Punctuation tokens (with their joiners)
    stay whole. `SubwordTokenizer.learn(texts, vocab_size)` learns the merges.

    Learning: start from characters ("Hund" -> `H ##u ##n ##d`; every character of the
    training words is a symbol in both forms, first and continuing), count every adjacent pair over
    the training words (each word weighted by how often it occurs), merge the most frequent pair
    into one symbol everywhere (`##u ##n` -> `##un`), and repeat until the symbols number
    `vocab_size` or no pair occurs `min_frequency` times. Ties go to the pair that sorts first, so
    the same text always gives the same merges. Cutting a word: apply the merges in the order
    they were learned, the earliest applicable first.
    """

    name = "bpe"

    def __init__(self, alphabet: Sequence[str], merges: Sequence[tuple[str, str]], marks: Sequence[str] = ()):
        self.alphabet = list(alphabet)  # the training words' characters, as first and as continuing symbols
        self.merges = [tuple(pair) for pair in merges]  # in the order learned
        self.marks = list(marks)  # the punctuation tokens of the training text, most frequent first
        self._rank: dict[tuple[str, str], int] = {}
        for rank, pair in enumerate(self.merges):
            self._rank.setdefault(pair, rank)
        self._words = WordTokenizer()
        self._cache: dict[str, list[str]] = {}

    @classmethod
    def learn(cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> "SubwordTokenizer":
        """Learn merges from the words of `texts` (the training split) until `vocab_size` symbols
        (characters included); a pair is merged only if it occurs at least `min_frequency` times."""
        if vocab_size < 1:
            raise ValueError(f"SubwordTokenizer.learn: expected vocab_size >= 1, got {vocab_size}")
        splitter, counts, marks = WordTokenizer(), Counter(), Counter()
        for text in texts:
            for token in splitter.tokenize(text):
                (counts if _is_word(token) else marks)[token] += 1
        words = [_characters(word) for word in sorted(counts)]
        frequency = [counts[word] for word in sorted(counts)]
        symbols = Counter()
        for word, n in zip(words, frequency):
            symbols.update({symbol: n for symbol in word})
        alphabet = sorted(symbols, key=lambda symbol: (-symbols[symbol], symbol))
        # each character in both forms, so a known character never becomes <unk> in a new place
        characters = {symbol.removeprefix(CONTINUES) for symbol in symbols}
        alphabet += sorted({*characters, *(CONTINUES + c for c in characters)} - set(symbols))

        pairs: Counter = Counter()  # pair -> how often it occurs, over all words
        where: dict[tuple[str, str], set[int]] = {}  # pair -> the words it occurs in
        for i, word in enumerate(words):
            for pair in zip(word, word[1:]):
                pairs[pair] += frequency[i]
                where.setdefault(pair, set()).add(i)
        heap = [(-n, pair) for pair, n in pairs.items()]  # most frequent first, ties by the pair's order
        heapq.heapify(heap)
        merges: list[tuple[str, str]] = []
        while heap and len(alphabet) + len(merges) < vocab_size:
            n, pair = heapq.heappop(heap)
            if -n != pairs.get(pair, 0):
                continue  # a stale entry: the pair's count changed since it was pushed
            if -n < min_frequency:
                break
            merges.append(pair)
            merged = _join(*pair)
            changed = set()
            for i in sorted(where.pop(pair)):
                old, new = words[i], _merge(words[i], pair, merged)
                for p in zip(old, old[1:]):
                    pairs[p] -= frequency[i]
                for p in zip(new, new[1:]):
                    pairs[p] += frequency[i]
                    where.setdefault(p, set()).add(i)
                changed.update(zip(old, old[1:]), zip(new, new[1:]))
                words[i] = new
            del pairs[pair]
            for p in sorted(changed - {pair}):
                if pairs[p] > 0:
                    heapq.heappush(heap, (-pairs[p], p))
        return cls(alphabet, merges, sorted(marks, key=lambda mark: (-marks[mark], mark)))

    def pieces(self) -> list[str]:
        """Every symbol the merges can produce (the characters, then each merge's result in the
        order learned), then the training text's punctuation tokens: a vocabulary of all of them
        holds every token of the training split, and after training lacks only new characters."""
        return list(dict.fromkeys([*self.alphabet, *(_join(a, b) for a, b in self.merges), *self.marks]))

    def cut(self, word: str) -> list[str]:
        """The pieces of one word: its characters, merged by the learned merges, earliest first."""
        if word not in self._cache:
            pieces = _characters(word)
            while len(pieces) > 1:
                ranked = [(self._rank[pair], pair) for pair in zip(pieces, pieces[1:]) if pair in self._rank]
                if not ranked:
                    break
                pair = min(ranked)[1]
                pieces = _merge(pieces, pair, _join(*pair))
            self._cache[word] = pieces
        return list(self._cache[word])

    def tokenize(self, text: str) -> list[str]:
        return [piece for token in self._words.tokenize(text)
                for piece in (self.cut(token) if _is_word(token) else [token])]

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Glue each `##` piece onto the piece before it, then join the words as `WordTokenizer`."""
        words: list[str] = []
        for token in tokens:
            if token.startswith(CONTINUES) and words:
                words[-1] += token[len(CONTINUES):]
            else:
                words.append(token.removeprefix(CONTINUES))
        return self._words.detokenize(words)

    def to_dict(self) -> dict:
        """JSON-serialisable; `tokenizer_from_dict` rebuilds the tokenizer, merges and all."""
        return {"name": self.name, "alphabet": self.alphabet, "merges": [list(pair) for pair in self.merges],
                "marks": self.marks}

    @classmethod
    def from_dict(cls, state: dict) -> "SubwordTokenizer":
        return cls(state["alphabet"], [tuple(pair) for pair in state["merges"]], state["marks"])


def _characters(word: str) -> list[str]:
    """A word as symbols: its first character, then each other one marked as continuing."""
    return [word[0], *(CONTINUES + c for c in word[1:])]


def _join(first: str, second: str) -> str:
    return first + second.removeprefix(CONTINUES)


def _merge(symbols: list[str], pair: tuple[str, str], merged: str) -> list[str]:
    """`symbols` with every occurrence of `pair`, left to right, replaced by `merged`."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(merged)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def _is_word(token: str) -> bool:
    return _WORD.fullmatch(token) is not None


TOKENIZERS = {cls.name: cls for cls in (WordTokenizer, CharTokenizer, TextCharTokenizer, WhitespaceTokenizer)}


def get_tokenizer(name: str) -> Tokenizer:
    """The tokenizer called `name` ("word", "char", "text-char" or "whitespace"); a learned one
    ("bpe") comes from `SubwordTokenizer.learn` or `tokenizer_from_dict`."""
    if name not in TOKENIZERS:
        learned = " (a learned tokenizer: rebuild it with tokenizer_from_dict)" if name == SubwordTokenizer.name else ""
        raise ValueError(f"unknown tokenizer {name!r}: expected one of {', '.join(sorted(TOKENIZERS))}{learned}")
    return TOKENIZERS[name]()


def tokenizer_to_dict(tokenizer: Tokenizer) -> str | dict:
    """What a run folder stores of `tokenizer`: its name, or its state for a learned one."""
    return tokenizer.to_dict() if hasattr(tokenizer, "to_dict") else tokenizer.name


def tokenizer_from_dict(state: str | dict) -> Tokenizer:
    """The tokenizer `tokenizer_to_dict` stored."""
    if isinstance(state, str):
        return get_tokenizer(state)
    if state.get("name") != SubwordTokenizer.name:
        raise ValueError(f"unknown learned tokenizer {state.get('name')!r}: expected {SubwordTokenizer.name!r}")
    return SubwordTokenizer.from_dict(state)
