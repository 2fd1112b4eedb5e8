"""Tagged sentences from CoNLL-U files, the format of the Universal Dependencies treebanks.

Chapter: walkthrough/13_tagging.md (the data of the tagging chapter: UD English EWT).

CoNLL-U (https://universaldependencies.org/format.html) holds one word per line in ten
tab-separated columns, ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC, a blank line after
each sentence, and `#` comment lines before it. Reading the format is not what the course
teaches, so the `conllu` library parses each line; this module keeps what a tagger needs:

    read_conllu(path, tag_column="upos") -> [(words, tags), ...]

one pair of string lists per sentence, the words (FORM) and their tags (UPOS, the 17 universal
tags, or XPOS, the treebank's own, e.g. the Penn tags of EWT). Two kinds of line are not words
and are skipped: multi-word token ranges (`3-4  don't`, whose words `do` and `n't` follow as
3 and 4) and empty nodes (`8.1`, a word the syntax restores that the text does not contain).

`path` is one file or a folder, whose `*.conllu` files are read in sorted order. The `conllu`
library is lenient (it accepts fewer columns, spaces for tabs, a missing ID); here a malformed
line is refused with one line naming the file, the line number and what was wrong: a column
count other than ten, an ID that is not a word number, a range or an empty node (or a word
number out of sequence), an empty FORM, a word without a tag in the chosen column; and a file
that is not UTF-8 names the line of its first bad byte.
"""

from pathlib import Path

import conllu
from conllu.exceptions import ParseException

TAG_COLUMNS = ("upos", "xpos")
N_COLUMNS = 10
TaggedSentence = tuple[list[str], list[str]]  # (words, tags), one tag per word


def read_conllu(path: str | Path, tag_column: str = "upos") -> list[TaggedSentence]:
    """Every sentence of a CoNLL-U file, or of each `*.conllu` file of a folder (sorted by name)."""
    if tag_column not in TAG_COLUMNS:
        raise ValueError(f"read_conllu: expected tag_column in {TAG_COLUMNS}, got {tag_column!r}")
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.conllu"))
        if not files:
            raise FileNotFoundError(f"{path}: expected *.conllu files in the folder, found none")
    elif path.is_file():
        files = [path]
    else:
        raise FileNotFoundError(f"read_conllu: no such file or folder: {path}")
    return [sentence for file in files for sentence in read_conllu_file(file, tag_column)]


def read_conllu_file(path: Path, tag_column: str = "upos") -> list[TaggedSentence]:
    """The (words, tags) of every sentence of one file, in order."""
    lines = _decode(path).split("\n")
    sentences, block = [], []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        if line.strip():
            block.append((number, line))
            continue
        if block:
            sentences.extend(_sentence(path, block, tag_column))
            block = []
    if block:  # a last sentence without its blank line
        sentences.extend(_sentence(path, block, tag_column))
    if not sentences:
        raise ValueError(f"{path}: expected CoNLL-U sentences, found none")
    return sentences


def _decode(path: Path) -> str:
    """The file's text, or one line naming the line of the first byte that is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(f"{path}: line {line}: expected UTF-8 text, got the byte 0x{data[error.start]:02x}") from None


def _sentence(path: Path, block: list[tuple[int, str]], tag_column: str) -> list[TaggedSentence]:
    """The sentence of one block of lines (none for a block of comments only)."""
    token_lines = [(number, line) for number, line in block if not line.startswith("#")]
    if not token_lines:
        return []
    for number, line in token_lines:
        columns = line.split("\t")
        if len(columns) != N_COLUMNS:
            raise ValueError(f"{path}: line {number}: expected {N_COLUMNS} tab-separated columns, got {len(columns)}")
        if not columns[1].strip():
            raise ValueError(f"{path}: line {number}: empty FORM (column 2) for ID {columns[0]!r}")
    try:
        tokens = conllu.parse_token_and_metadata("\n".join(line for _, line in token_lines))
    except ParseException:
        _raise_at_failing_line(path, token_lines)
        raise
    words, tags = [], []
    for (number, line), token in zip(token_lines, tokens):
        token_id = token["id"]
        if isinstance(token_id, tuple):  # a multi-word token range (3, "-", 4) or an empty node (8, ".", 1)
            continue
        if token_id is None or token_id != len(words) + 1:
            raise ValueError(f"{path}: line {number}: expected word ID {len(words) + 1} (or a range like 3-4, "
                             f"an empty node like 8.1), got {line.split(chr(9))[0]!r}")
        tag = token[tag_column]
        if tag in (None, "", "_"):
            raise ValueError(f"{path}: line {number}: word {token['form']!r} has no {tag_column.upper()} tag")
        words.append(token["form"])
        tags.append(tag)
    if not words:
        raise ValueError(f"{path}: line {token_lines[0][0]}: a sentence without words (only ranges or empty nodes)")
    return [(words, tags)]


def _raise_at_failing_line(path: Path, token_lines: list[tuple[int, str]]) -> None:
    """Parse the lines one by one to name the one the library refused."""
    for number, line in token_lines:
        try:
            conllu.parse_token_and_metadata(line)
        except ParseException as error:
            raise ValueError(f"{path}: line {number}: {error}") from None
