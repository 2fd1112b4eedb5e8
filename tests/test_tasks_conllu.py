"""Spec for the CoNLL-U reader (chapter 13): words and UPOS or XPOS tags per sentence, multi-word token
ranges and empty nodes skipped, files and folders, and every malformed line refused with file and line."""

import re

import pytest

from transformer.tasks.conllu import read_conllu

pytestmark = pytest.mark.tagging


def row(*columns: str) -> str:
    return "\t".join(columns)


# Two sentences in EWT's style: comments, a multi-word token ("don't" = do + n't), an empty node (3.1).
SAMPLE = "\n".join([
    "# newdoc id = test-doc",
    "# sent_id = test-0001",
    "# text = I don't know.",
    row("1", "I", "I", "PRON", "PRP", "Case=Nom", "4", "nsubj", "4:nsubj", "_"),
    row("2-3", "don't", "_", "_", "_", "_", "_", "_", "_", "_"),
    row("2", "do", "do", "AUX", "VBP", "Mood=Ind", "4", "aux", "4:aux", "_"),
    row("3", "n't", "not", "PART", "RB", "_", "4", "advmod", "4:advmod", "_"),
    row("4", "know", "know", "VERB", "VB", "VerbForm=Inf", "0", "root", "0:root", "SpaceAfter=No"),
    row("5", ".", ".", "PUNCT", ".", "_", "4", "punct", "4:punct", "_"),
    "",
    "# sent_id = test-0002",
    "# text = Mary likes tea and John coffee",
    row("1", "Mary", "Mary", "PROPN", "NNP", "Number=Sing", "2", "nsubj", "2:nsubj", "_"),
    row("2", "likes", "like", "VERB", "VBZ", "Number=Sing", "0", "root", "0:root", "_"),
    row("3", "tea", "tea", "NOUN", "NN", "Number=Sing", "2", "obj", "2:obj", "_"),
    row("3.1", "likes", "like", "VERB", "VBZ", "_", "_", "_", "2:conj", "CopyOf=2"),
    row("4", "and", "and", "CCONJ", "CC", "_", "5", "cc", "5:cc", "_"),
    row("5", "John", "John", "PROPN", "NNP", "Number=Sing", "2", "conj", "3.1:nsubj", "_"),
    row("6", "coffee", "coffee", "NOUN", "NN", "Number=Sing", "5", "orphan", "3.1:obj", "_"),
    "",
    "",
])
UPOS = [(["I", "do", "n't", "know", "."], ["PRON", "AUX", "PART", "VERB", "PUNCT"]),
        (["Mary", "likes", "tea", "and", "John", "coffee"], ["PROPN", "VERB", "NOUN", "CCONJ", "PROPN", "NOUN"])]
XPOS = [["PRP", "VBP", "RB", "VB", "."], ["NNP", "VBZ", "NN", "CC", "NNP", "NN"]]
GOOD = row("1", "Hi", "hi", "INTJ", "UH", "_", "0", "root", "0:root", "_")


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_words_and_upos_tags_with_ranges_and_empty_nodes_skipped(tmp_path):
    """The words are the integer IDs only: 'don't' (2-3) and the restored 'likes' (3.1) are not words."""
    sentences = read_conllu(write(tmp_path / "a.conllu", SAMPLE))
    assert sentences == UPOS, f"expected the integer-ID words and UPOS tags {UPOS}, got {sentences}"


def test_xpos_column_gives_the_treebank_tags(tmp_path):
    sentences = read_conllu(write(tmp_path / "a.conllu", SAMPLE), tag_column="xpos")
    assert [words for words, _ in sentences] == [words for words, _ in UPOS], "the words depend on the tag column"
    tags = [tags for _, tags in sentences]
    assert tags == XPOS, f"tag_column='xpos' should give the XPOS column {XPOS}, got {tags}"


def test_a_folder_reads_every_conllu_file_in_sorted_order(tmp_path):
    """b.conllu before c.conllu whatever the order of creation; other files are left alone."""
    write(tmp_path / "c.conllu", GOOD + "\n\n")
    write(tmp_path / "b.conllu", SAMPLE)
    write(tmp_path / "notes.txt", "not CoNLL-U")
    sentences = read_conllu(tmp_path)
    assert sentences == UPOS + [(["Hi"], ["INTJ"])], (
        f"expected b.conllu's sentences then c.conllu's (notes.txt left out), got {sentences}")


def test_windows_line_endings_a_byte_order_mark_and_no_final_blank_line_read_the_same(tmp_path):
    text = "\ufeff" + SAMPLE.rstrip("\n").replace("\n", "\r\n")
    sentences = read_conllu(write(tmp_path / "a.conllu", text))
    assert sentences == UPOS, f"CRLF, a BOM and no final blank line changed what is read: got {sentences}"


def test_a_comment_only_block_is_not_a_sentence(tmp_path):
    sentences = read_conllu(write(tmp_path / "a.conllu", "# newdoc id = x\n\n" + GOOD + "\n"))
    assert sentences == [(["Hi"], ["INTJ"])], f"a block of comments only became a sentence: {sentences}"


@pytest.mark.parametrize("line, problem", [
    (row("1", "Hi", "hi", "INTJ", "UH", "_", "0", "root", "0:root"), "expected 10 tab-separated columns, got 9"),
    ("1 Hi hi INTJ UH _ 0 root 0:root _", "expected 10 tab-separated columns, got 1"),
    (row("x", "Hi", "hi", "INTJ", "UH", "_", "0", "root", "0:root", "_"), "Failed parsing field 'id': 'x' is not a valid ID"),
    (row("_", "Hi", "hi", "INTJ", "UH", "_", "0", "root", "0:root", "_"), "expected word ID 2 .*got '_'"),
    (row("3", "Hi", "hi", "INTJ", "UH", "_", "0", "root", "0:root", "_"), "expected word ID 2 .*got '3'"),
    (row("2", "", "hi", "INTJ", "UH", "_", "0", "root", "0:root", "_"), r"empty FORM \(column 2\) for ID '2'"),
    (row("2", "Hi", "hi", "_", "UH", "_", "0", "root", "0:root", "_"), "word 'Hi' has no UPOS tag"),
    (row("2", "Hi", "hi", "INTJ", "UH", "_", "zero", "root", "0:root", "_"), "Failed parsing field 'head'"),
])
def test_a_malformed_line_names_the_file_the_line_and_the_problem(tmp_path, line, problem):
    """Line 3 here: a comment, a good word, then the bad one."""
    path = write(tmp_path / "bad.conllu", "\n".join(["# sent_id = 1", GOOD, line, "", ""]))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: line 3: {problem}") as error:
        read_conllu(path)
    assert "\n" not in str(error.value), "the error is more than one line"


def test_a_missing_xpos_tag_is_refused_only_when_xpos_is_asked_for(tmp_path):
    path = write(tmp_path / "a.conllu", row("1", "Hi", "hi", "INTJ", "_", "_", "0", "root", "0:root", "_") + "\n")
    sentences = read_conllu(path)
    assert sentences == [(["Hi"], ["INTJ"])], f"a missing XPOS tag should not matter for UPOS, got {sentences}"
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: line 1: word 'Hi' has no XPOS tag"):
        read_conllu(path, tag_column="xpos")


def test_a_file_that_is_not_utf8_names_the_file_and_the_line(tmp_path):
    """Latin-1 'é' (0xe9) on line 2 is not UTF-8."""
    path = write(tmp_path / "latin.conllu", "# sent_id = 1\n" + row("1", "café", "café", "NOUN", "NN", "_", "0",
                                                                     "root", "0:root", "_") + "\n", encoding="latin-1")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: line 2: expected UTF-8 text, got the byte 0xe9$"):
        read_conllu(path)


def test_missing_paths_empty_folders_and_unknown_columns_are_refused_in_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        read_conllu(tmp_path / "absent.conllu")
    with pytest.raises(FileNotFoundError, match=r"expected \*.conllu files in the folder, found none"):
        read_conllu(tmp_path)
    with pytest.raises(ValueError, match="expected CoNLL-U sentences, found none"):
        read_conllu(write(tmp_path / "empty.conllu", "# only a comment\n"))
    with pytest.raises(ValueError, match=r"expected tag_column in \('upos', 'xpos'\), got 'lemma'"):
        read_conllu(write(tmp_path / "a.conllu", SAMPLE), tag_column="lemma")
