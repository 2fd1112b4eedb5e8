"""Tasks: the data the demo models learn from, as token ids in padded batches.

Chapter: walkthrough/01_tokens_and_batches.md. Modules: `vocab` (ids and specials),
`tokenize` (reversible tokenizers), `batching` (padded batches grouped by length), `copy`
(copy and reverse), `numbers` (German -> English number words), `translation` (Multi30k and
tab-separated pair files), `registry` (`load_task`, one entry point for all of them).
"""

from transformer.tasks.batching import Batch, Pair, batch_cost, make_batch, make_batches
from transformer.tasks.registry import TASKS, TaskData, TextCodec, load_task, task_options
from transformer.tasks.tokenize import (
    JOINER,
    CharTokenizer,
    Tokenizer,
    WhitespaceTokenizer,
    WordTokenizer,
    get_tokenizer,
    normalize_whitespace,
)
from transformer.tasks.vocab import BOS, EOS, PAD, SPECIALS, UNK, Vocabulary

__all__ = [
    "BOS",
    "EOS",
    "JOINER",
    "PAD",
    "SPECIALS",
    "TASKS",
    "UNK",
    "Batch",
    "CharTokenizer",
    "Pair",
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
]
