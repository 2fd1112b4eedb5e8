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

Paper: Vaswani et al. 2017 use subword units (byte-pair encoding, Sennrich et al. 2016);
word-level vocabularies are this course's deviation, enough for Multi30k's short captions.
"""

import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

JOINER = "\uffed"  # "￭": marks a side of a punctuation token that had no space in the text

_WORD_OR_MARK = re.compile(r"(?P<word>\w+)|(?P<mark>[^\w\s])")


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


TOKENIZERS = {cls.name: cls for cls in (WordTokenizer, CharTokenizer, TextCharTokenizer, WhitespaceTokenizer)}


def get_tokenizer(name: str) -> Tokenizer:
    """The tokenizer called `name` ("word", "char" or "whitespace")."""
    if name not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {name!r}: expected one of {', '.join(sorted(TOKENIZERS))}")
    return TOKENIZERS[name]()
