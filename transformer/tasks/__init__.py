"""Tasks: the data the demo models learn from, as token ids in padded batches, for every shape.

Chapter: walkthrough/01_tokens_and_batches.md (12-14 for the other shapes). Modules: `vocab`
(ids and specials; `Labels` for classes and tags), `tokenize` (reversible tokenizers), `codec`
(tokenizer + vocabulary), `files` (reading the user's files), `batching` (padded batches
grouped by length), `copy` (copy and reverse), `numbers` (German -> English number words),
`translation` (Multi30k and tab-separated pair files), `classification`, `tagging` and
`language` (the other shapes' data), `registry` (`load_task`, one entry point for all of them).
"""

from transformer.tasks.batching import Batch, Pair, batch_cost, make_batch, make_batches
from transformer.tasks.classification import ClassBatch, ClassificationData
from transformer.tasks.codec import TextCodec
from transformer.tasks.language import LanguageModelData, LMBatch
from transformer.tasks.registry import TASK_SHAPES, TASKS, TaskData, load_task, task_options, task_shape
from transformer.tasks.tagging import TagBatch, TaggingData
from transformer.tasks.tokenize import (
    JOINER,
    CharTokenizer,
    SubwordTokenizer,
    Tokenizer,
    WhitespaceTokenizer,
    WordTokenizer,
    get_tokenizer,
    normalize_whitespace,
    tokenizer_from_dict,
)
from transformer.tasks.vocab import BOS, EOS, PAD, SPECIALS, UNK, Labels, Vocabulary

__all__ = [
    "BOS",
    "EOS",
    "JOINER",
    "PAD",
    "SPECIALS",
    "TASKS",
    "TASK_SHAPES",
    "UNK",
    "Batch",
    "ClassBatch",
    "ClassificationData",
    "LMBatch",
    "Labels",
    "LanguageModelData",
    "TagBatch",
    "TaggingData",
    "CharTokenizer",
    "Pair",
    "SubwordTokenizer",
    "TaskData",
    "TextCodec",
    "Tokenizer",
    "Vocabulary",
    "WhitespaceTokenizer",
    "WordTokenizer",
    "batch_cost",
    "get_tokenizer",
    "load_task",
    "make_batch",
    "make_batches",
    "normalize_whitespace",
    "task_options",
    "task_shape",
    "tokenizer_from_dict",
]
