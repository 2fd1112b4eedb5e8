"""The syllabus: the course's chapters, listed once (number, pytest marker, file, title and lane).

Everything that needs to know the chapters reads this table: the exercise workspaces (a hint
names its chapter and file), the `--impl` pytest plugin (which chapter a test belongs to), the
walkthrough runner's tests, and the course map of chapter 00. `pyproject.toml` declares the same
markers for pytest, and a test checks that the two lists agree.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Chapter:
    number: int
    marker: str  # the pytest marker of the chapter's spec: `pytest -m <marker>`
    stem: str  # walkthrough/<stem>.md
    title: str  # short, for the course map
    lane: str  # the part of the course it belongs to

    @property
    def file(self) -> str:
        return f"walkthrough/{self.stem}.md"

    @property
    def label(self) -> str:
        return f"{self.number:02d}"


CHAPTERS = (
    Chapter(0, "walkthrough", "00_start_here", "Start here", "start"),
    Chapter(1, "tokens", "01_tokens_and_batches", "Tokens and batches", "start"),
    Chapter(2, "recurrent", "02_recurrent_networks", "Recurrent networks", "recurrent baseline"),
    Chapter(3, "seq2seq", "03_seq2seq", "Sequence to sequence", "recurrent baseline"),
    Chapter(4, "rnn_attention", "04_attention_for_rnns", "Attention for RNNs", "recurrent baseline"),
    Chapter(5, "embeddings", "05_embeddings_and_positions", "Embeddings", "Transformer"),
    Chapter(6, "attention", "06_attention", "Attention", "Transformer"),
    Chapter(7, "encoder", "07_encoder", "The encoder", "Transformer"),
    Chapter(8, "decoder", "08_decoder_and_model", "Decoder and model", "Transformer"),
    Chapter(9, "training", "09_training", "Training", "training and use"),
    Chapter(10, "decoding", "10_decoding", "Decoding", "training and use"),
    Chapter(11, "experiments", "11_experiments", "Experiments", "training and use"),
    Chapter(14, "language_models", "14_language_models", "Language models", "other shapes"),
)

# Which chapters each one builds on (the arrows of the course map).
BUILDS_ON = {1: [0], 2: [1], 3: [2], 4: [3], 5: [1], 6: [5], 7: [6], 8: [7], 9: [8], 10: [9], 11: [10, 4], 14: [10, 8]}

# The chapters whose spec is a pytest marker of their own (chapter 00's code runs under `walkthrough`).
SPEC_CHAPTERS = tuple(chapter for chapter in CHAPTERS if chapter.number > 0)
MARKERS = tuple(chapter.marker for chapter in SPEC_CHAPTERS)


def chapter(marker: str) -> Chapter:
    """The chapter whose spec has this pytest marker."""
    for candidate in SPEC_CHAPTERS:
        if candidate.marker == marker:
            return candidate
    raise ValueError(f"chapter: expected one of {', '.join(MARKERS)}, got {marker!r}")


def by_number(number: int) -> Chapter:
    for candidate in CHAPTERS:
        if candidate.number == number:
            return candidate
    raise ValueError(f"chapter: expected a number in 0..{CHAPTERS[-1].number}, got {number}")
