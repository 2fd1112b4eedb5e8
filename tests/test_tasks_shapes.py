"""Spec for the data of the other task shapes (chapters 12-14): classification files, CoNLL-U
folders, text streams; batches that pad, mask and cut as their shape needs. All on small files the
tests write; the real corpora are for the chapters and benchmarks."""

import csv

import pytest
import torch
from test_tasks_offline import no_network  # noqa: F401  (a fixture)

from transformer.tasks import PAD, load_task
from transformer.tasks.classification import clean_text, make_class_batches, stratified_split
from transformer.tasks.language import make_lm_batches, stream_windows
from transformer.tasks.tagging import make_tag_batch

pytestmark = pytest.mark.tokens


def write_tweets(path, rows, encoding="cp1252"):
    """A CSV as the disaster-tweets file is: a header, CRLF line ends, quoted fields over two lines."""
    with open(path, "w", encoding=encoding, newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(["text", "choose_one", "class_label"])
        writer.writerows(rows)


TWEETS = [(f"fire {i} in the\nhills \u2014 evacuate", "Relevant", 1) for i in range(6)] + \
         [(f"my mixtape {i} is fire", "Not Relevant", 0) for i in range(6)] + [("hmm", "Can't Decide", 2)]


@pytest.mark.classification
def test_tweets_are_read_from_windows_1252_with_fields_over_lines_and_split_by_class(tmp_path, no_network):  # noqa: F811
    """Windows-1252 bytes, CRLF and multi-line quoted fields are read as the guide reads them; the
    "Can't Decide" row is dropped; each split holds both classes; nothing goes on the network."""
    path = tmp_path / "tweets.csv"
    write_tweets(path, TWEETS)
    data = load_task("tweets", path=str(path), min_freq=1, valid_fraction=0.2, test_fraction=0.2)
    assert data.labels.names == ["Not Relevant", "Relevant"], data.labels
    assert sum(len(examples) for examples in data.splits.values()) == 12, "the Can't Decide row must be dropped"
    for split, examples in data.splits.items():
        assert {label for _, label in examples} == {0, 1}, f"{split} lacks a class: stratified split"
    assert any("\u2014" in text or "hills" in text for text in data.texts["train"]), data.texts["train"][:2]
    rows = data.options["split_rows"]
    assert sorted(rows["train"] + rows["valid"] + rows["test"]) == list(range(12)), rows
    assert not no_network, f"loading a local CSV tried the network: {no_network}"


@pytest.mark.classification
def test_a_csv_row_without_text_names_the_file_and_the_line_it_starts_on(tmp_path):
    path = tmp_path / "mine.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write('text,label\n"two\nlines",a\n"",b\nthird,a\n')
    with pytest.raises(ValueError, match=r"mine.csv: line 4: empty text"):
        load_task("csv", path=str(path))


@pytest.mark.classification
def test_a_csv_that_is_not_its_encoding_names_the_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\nfine,a\ncaf\u00e9,b\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin.csv: line 3: not utf-8"):
        load_task("csv", path=str(path))


@pytest.mark.classification
def test_label_text_lines_are_read_as_sst2_is_and_a_bad_line_is_named(tmp_path):
    folder = tmp_path / "sst2"
    folder.mkdir()
    for name in ("stsa.binary.train", "stsa.binary.dev", "stsa.binary.test"):
        (folder / name).write_text("1 a good film\n0 a bad film\n1 good , very good\n", encoding="utf-8")
    data = load_task("sst2", path=str(folder))
    assert data.labels.names == ["negative", "positive"] and len(data.train) == 3, data
    tokens = data.source.tokenizer.tokenize("good , very good")
    assert tokens == ["good", ",", "very", "good"], f"SST-2 text is split on spaces, got {tokens}"
    (folder / "stsa.binary.dev").write_text("\ufeff1 fine\nno_label_here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"stsa.binary.dev: line 2: expected 'label text'"):
        load_task("sst2", path=str(folder))


@pytest.mark.classification
def test_clean_text_keeps_words_hashtags_and_marks_and_names_links_and_users():
    cleaned = clean_text("Forest FIRE near La Ronge http://t.co/x @CBC!! #wildfire")
    assert cleaned == "forest fire near la ronge http @user !! #wildfire", (
        f"expected lower case, links as 'http', users as '@user', '!!' and '#wildfire' kept; got {cleaned!r}")


@pytest.mark.classification
def test_stratified_split_keeps_each_class_in_proportion_and_is_fixed_by_the_seed():
    labels = ["a"] * 50 + ["b"] * 10
    split = stratified_split(labels, (0.8, 0.1, 0.1), seed=3)
    assert sorted(sum(split.values(), [])) == list(range(60)), "every row lands in exactly one split"
    assert [labels[i] for i in split["test"]].count("b") == 1, "10% of class b goes to test"
    assert split == stratified_split(labels, (0.8, 0.1, 0.1), seed=3), "the same seed, the same split"


@pytest.mark.classification
def test_class_batches_pad_sentences_of_similar_length():
    examples = [([4, 5, 6], 0), ([7], 1), ([8, 9], 1), ([4, 4, 4, 4], 0)]
    batches = make_class_batches(examples, max_tokens=8)
    assert sorted(i for b in batches for i in b.indices.tolist()) == [0, 1, 2, 3], "every example once"
    for batch in batches:
        for row, index in zip(batch.ids.tolist(), batch.indices.tolist()):
            ids, label = examples[index]
            assert row[: len(ids)] == ids and set(row[len(ids):]) <= {PAD}, f"row {row} is not {ids} + padding"
            assert batch.labels[batch.indices.tolist().index(index)] == label, "labels follow their sentences"


CONLLU = """# sent_id = 1
1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_
2\tdogs\tdog\tNOUN\tNNS\t_\t3\tnsubj\t_\t_
3-4\tcan't\t_\t_\t_\t_\t_\t_\t_\t_
3\tca\tcan\tAUX\tMD\t_\t0\troot\t_\t_
4\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_
4.1\tbark\t_\tVERB\tVB\t_\t_\t_\t_\t_
5\tbark\tbark\tVERB\tVB\t_\t3\txcomp\t_\t_

"""


@pytest.mark.tagging
def test_ud_pos_reads_a_conllu_folder_skipping_ranges_and_empty_nodes(tmp_path):
    for name in ("x-ud-train.conllu", "x-ud-dev.conllu", "x-ud-test.conllu"):
        (tmp_path / name).write_text(CONLLU, encoding="utf-8")
    data = load_task("ud-pos", path=str(tmp_path), min_freq=1)
    assert data.words["train"] == [["The", "dogs", "ca", "n't", "bark"]], data.words["train"]
    upos = [data.tags.name(t) for t in data.train[0][1]]
    assert upos == ["DET", "NOUN", "AUX", "PART", "VERB"], f"UPOS tags of the words, got {upos}"
    xpos = load_task("ud-pos", path=str(tmp_path), min_freq=1, tag_column="xpos")
    xpos_tags = [xpos.tags.name(t) for t in xpos.train[0][1]]
    assert xpos_tags == ["DT", "NNS", "MD", "RB", "VB"], f"tag_column='xpos': XPOS tags expected, got {xpos_tags}"
    words = data.training_words()
    assert words == {"The", "dogs", "ca", "n't", "bark"}, f"the training words, no range or empty node, got {words}"


@pytest.mark.tagging
def test_a_tag_batch_pads_words_tags_and_spellings_and_its_mask_marks_the_real_words():
    batch = make_tag_batch([([5, 6], [1, 2], [[4, 5], [6]]), ([7], [3], [[4, 4, 4]])])
    assert batch.ids.tolist() == [[5, 6], [7, PAD]] and batch.tags.tolist() == [[1, 2], [3, 0]], batch
    assert batch.mask.tolist() == [[True, True], [True, False]], "the mask marks the real words"
    assert batch.chars.shape == (2, 2, 3) and batch.chars[1, 1].tolist() == [PAD] * 3, batch.chars


@pytest.mark.language_models
def test_text_streams_are_cut_into_windows_whose_targets_are_the_next_tokens(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("\ufeff" + "ab\ncd\n" * 20, encoding="utf-8")
    data = load_task("text", path=str(path), level="char", context=8, valid_fraction=0.25)
    assert "\ufeff" not in data.source.vocab.tokens, "the byte-order mark became a token"
    assert data.source.decode(data.train[:6]) == "ab\ncd\n", "characters and line breaks come back as they were"
    for batch in data.batches("train", 32, shuffle=True, seed=1):
        real = batch.targets != PAD
        later = real[:, 1:]  # where position t + 1 holds a real input token
        assert torch.equal(batch.ids[:, 1:][later], batch.targets[:, :-1][later]), "targets are the ids shifted by one"
    windows = stream_windows(list(range(20)), 8)
    assert windows[0] == list(range(9)) and windows[-1][-1] == 19, windows
    last = make_lm_batches(list(range(1, 20)), 8, rows=8)[-1]
    assert last.targets[-1, -1] == PAD and last.n_tokens < last.targets.numel(), "the last window is padded"


@pytest.mark.language_models
def test_word_level_text_ends_each_line_with_eos(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("the cat sat.\nthe dog ran.\n" * 10, encoding="utf-8")
    data = load_task("text", path=str(path), level="word", context=6)
    assert data.decode(data.train[:10]) == "the cat sat.\nthe dog ran.", data.decode(data.train[:10])
