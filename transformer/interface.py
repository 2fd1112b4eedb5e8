"""The model interface of each task shape: what training, decoding and comparison talk to.

The same modules (embeddings, attention, the encoder and decoder stacks, recurrent cells and
layers) make four shapes of sequence model. Each shape is one abstract class here, and every
model family implements the shapes it can, so one training loop, one decoder and one comparison
serve them all:

| shape | class | `forward` | incremental use |
|---|---|---|---|
| many-to-one: classify a sentence | `SequenceClassifier` | `(batch, seq) -> (batch, classes)` | - |
| synchronous many-to-many: tag each token | `SequenceTagger` | `(batch, seq) -> (batch, seq, tags)` | - |
| one-to-many: a language model | `LanguageModel` | `(batch, seq) -> (batch, seq, vocab)`, causal | `start(prefix)`, `step(tokens, state)` |
| sequence to sequence | `Seq2Seq` | `(src, tgt_in) -> (batch, tgt_seq, vocab)` | `start_decoding(src)`, `decode_step(tokens, state)` |

Padding is right padding with the model's pad id everywhere, and it never changes the output at a
real position (nor, for a classifier, the sentence's logits). A language model's output at t
never depends on tokens after t.

A `State` is a plain dict of tensors whose first axis is the batch, so beam search can reorder
any model's state with `reorder_state`. A decoder state may carry `"attention"`: the weights the
last step put on each source position (batch, src_seq), for alignment plots.
"""

from abc import ABC, abstractmethod

from jaxtyping import Bool, Float, Int
from torch import Tensor, nn

from transformer.losses import label_smoothed_cross_entropy

State = dict[str, Tensor]
DecoderState = State  # the name chapters 03-10 use for a seq2seq decoder's state

CLASSIFICATION, TAGGING, LANGUAGE_MODEL, SEQ2SEQ = "classification", "tagging", "language_model", "seq2seq"


class SequenceClassifier(nn.Module, ABC):
    """Many-to-one: a sentence in, one distribution over classes out."""

    shape = CLASSIFICATION
    pad_id: int
    n_classes: int

    @abstractmethod
    def sentence_vector(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch features"]:
        """The vector that stands for the whole sentence: what the output layer reads."""

    @abstractmethod
    def forward(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch classes"]:
        """Class logits for each sentence."""


class SequenceTagger(nn.Module, ABC):
    """Synchronous many-to-many: one tag per input token.

    `forward` gives each position's tag scores. How scores become a loss and a tag sequence is
    the model's output layer: by default each position is its own softmax (`loss` is token
    cross-entropy, `predict` the argmax); a CRF tagger scores whole tag sequences instead and
    overrides both. `chars`, when a model reads them, holds each word's character ids
    (batch, seq, word_len), padded with the pad id.
    """

    shape = TAGGING
    pad_id: int
    n_tags: int

    @abstractmethod
    def forward(
        self, ids: Int[Tensor, "batch seq"], chars: Int[Tensor, "batch seq word_len"] | None = None
    ) -> Float[Tensor, "batch seq tags"]:
        """Tag scores for every position (padding positions included; they are never used)."""

    # exercise(tagging): a tagger's training loss: the mean token cross-entropy, label-smoothed by
    #   `smoothing`, over the real positions (mask True) only; padding never counts.
    #   hint: chapter 09's loss already takes a mask of the positions that count; averaging over
    #     padding too is the classic bug of tagging tutorials: it rewards predicting the padding tag.
    #   hint: the mean token cross-entropy over the real positions only (mask True):
    #     label_smoothed_cross_entropy(scores, tags, smoothing, mask=mask). Averaging over padding
    #     too is the classic bug of tagging tutorials: it rewards predicting the padding tag.
    def loss(
        self,
        scores: Float[Tensor, "batch seq tags"],
        tags: Int[Tensor, "batch seq"],
        mask: Bool[Tensor, "batch seq"],
        smoothing: float = 0.0,
    ) -> Float[Tensor, ""]:
        """Mean cross-entropy over the real positions (`mask` True); padding never counts."""
        return label_smoothed_cross_entropy(scores, tags, smoothing, mask=mask)

    def predict(
        self, scores: Float[Tensor, "batch seq tags"], mask: Bool[Tensor, "batch seq"]
    ) -> Int[Tensor, "batch seq"]:
        """The tag of each position (0 at padding)."""
        return scores.argmax(dim=-1).masked_fill(~mask, 0)


class LanguageModel(nn.Module, ABC):
    """One-to-many: predicts each next token, and, fed its own output, writes text.

    `max_len` is the context window (None: unbounded, as a recurrent model's state). Past it a
    model keeps the last `max_len` tokens as its context, so `step` never fails on a long text.
    """

    shape = LANGUAGE_MODEL
    pad_id: int
    vocab_size: int
    max_len: int | None

    @abstractmethod
    def forward(self, ids: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch seq vocab"]:
        """Logits at every position: position t predicts token t + 1, from tokens 0..t only."""

    @abstractmethod
    def start(self, prefix: Int[Tensor, "batch prefix"], use_cache: bool = True) -> tuple[Float[Tensor, "batch vocab"], State]:
        """Read a prefix (no padding): the logits of the token after it and the state to go on from.

        With `use_cache=False` every later step recomputes from the tokens themselves (for a
        Transformer: no key/value cache), which must give the same logits.
        """

    @abstractmethod
    def step(self, tokens: Int[Tensor, " batch"], state: State) -> tuple[Float[Tensor, "batch vocab"], State]:
        """Append one token to each row; return the logits of the next one and the new state."""


class Seq2Seq(nn.Module, ABC):
    """An encoder-decoder over token ids, with the padding ids it was built for.

    * `forward(src, tgt_in)` -> logits, for teacher-forced training: position t of the logits
      predicts `tgt_out[:, t]`, the token after `tgt_in[:, t]`.
    * `start_decoding(src)` -> a state: everything the decoder needs from the source.
    * `decode_step(tokens, state)` -> (logits for the next token, new state): one step of
      incremental decoding, given the token just produced.
    """

    shape = SEQ2SEQ
    src_pad_id: int
    tgt_pad_id: int
    max_len: int | None  # the most positions a sequence may have (None: no limit)

    @abstractmethod
    def forward(
        self, src: Int[Tensor, "batch src_seq"], tgt_in: Int[Tensor, "batch tgt_seq"]
    ) -> Float[Tensor, "batch tgt_seq vocab"]:
        """Logits for every target position, with teacher forcing."""

    @abstractmethod
    def start_decoding(self, src: Int[Tensor, "batch src_seq"], use_cache: bool = True) -> DecoderState:
        """Encode the source once; return the state the first `decode_step` starts from.

        With `use_cache=False` each step reruns the decoder over the whole prefix instead of
        reusing what earlier steps computed: slower, and the same logits.
        """

    @abstractmethod
    def decode_step(
        self, tokens: Int[Tensor, " batch"], state: DecoderState
    ) -> tuple[Float[Tensor, "batch vocab"], DecoderState]:
        """Feed the latest target token; return logits for the next one and the new state."""


SHAPES: dict[str, type[nn.Module]] = {
    CLASSIFICATION: SequenceClassifier,
    TAGGING: SequenceTagger,
    LANGUAGE_MODEL: LanguageModel,
    SEQ2SEQ: Seq2Seq,
}


def reorder_state(state: State, indices: Int[Tensor, " new_batch"]) -> State:
    """Pick (and repeat) batch rows of every tensor in the state, as beam search needs."""
    return {name: value.index_select(0, indices) for name, value in state.items()}


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters, each shared tensor counted once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
