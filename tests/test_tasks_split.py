"""Spec: a run on data with no official split records its seeded split in the run folder (chapter 12).

Apart from tests/test_tasks_shapes.py because it trains a bag of words (a classification
exercise), so it belongs to chapter 12's tests, not chapter 01's."""

import json

import pytest
from test_tasks_shapes import TWEETS, write_tweets

from transformer.cli import main
from transformer.tasks import load_task

pytestmark = pytest.mark.classification


def test_the_split_is_written_into_the_run_folder(tmp_path):
    path = tmp_path / "tweets.csv"
    write_tweets(path, TWEETS)
    run = tmp_path / "run"
    assert main(["train", "--task", "tweets", "--model", "bow", "--run-dir", str(run), "--epochs", "1",
                 "--no-progress", "--task-option", f"path={path}", "--task-option", "min_freq=1",
                 "--task-option", "valid_fraction=0.2", "--task-option", "test_fraction=0.2"]) == 0, (
        "training a bag of words on a local CSV failed")
    split = json.loads((run / "split.json").read_text())
    again = load_task("tweets", path=str(path), min_freq=1, valid_fraction=0.2, test_fraction=0.2)
    assert split == again.options["split_rows"], "the same seed must give the split the run folder records"
