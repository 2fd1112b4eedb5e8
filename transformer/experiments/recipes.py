"""Recipes: which model a name means for a task's shape, how big it is, and how the task trains.

Model names, by the shape of the task (a task declares its shape, `transformer.tasks.task_shape`):

| shape | names |
|---|---|
| seq2seq | `transformer`; a cell `rnn`, `lstm`, `gru`; a cell with attention `lstm-bahdanau`, `gru-luong`, ... |
| classification | `bow` and `tfidf` (logistic regression on bag-of-words / TF-IDF features), `textcnn`, `transformer` (encoder-only), `rnn`, `lstm`, `gru` and bidirectional `birnn`, `bilstm`, `bigru` |
| tagging | `transformer` (encoder-only), `rnn`, `lstm`, `gru`, `birnn`, `bilstm`, `bigru`, each optionally with `-char` (character features) and `-crf` (a CRF output layer): `bilstm-char-crf` |
| language_model | `transformer` (decoder-only); `rnn`, `lstm`, `gru` |

`model_spec` turns a name, a task and its recipe into the JSON description a run folder stores;
`build_model` builds it. To compare families at equal size, `match_size` gives a model the size
(a recurrent model's hidden size) whose parameter count comes closest to the Transformer's.
"""

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import nn

from transformer.classification.features import BagOfWordsConfig, build_bag_of_words
from transformer.classification.textcnn import TextCNNConfig, build_textcnn
from transformer.decoder_only import DecoderOnlyConfig, build_transformer_language_model
from transformer.encoder_only import EncoderOnlyConfig, build_transformer_classifier, build_transformer_tagger
from transformer.interface import CLASSIFICATION, LANGUAGE_MODEL, SEQ2SEQ, TAGGING, count_parameters
from transformer.model import TransformerConfig, build_transformer
from transformer.rnn.cells import CELLS
from transformer.rnn.encoder_only import RecurrentEncoderConfig, build_recurrent_classifier, build_recurrent_tagger
from transformer.rnn.language_model import RecurrentLMConfig, build_recurrent_language_model
from transformer.rnn.seq2seq import ATTENTION, RecurrentConfig, build_recurrent
from transformer.train import TrainConfig

SHAPES = (SEQ2SEQ, CLASSIFICATION, TAGGING, LANGUAGE_MODEL)
RNN_ATTENTION = tuple(kind for kind in ATTENTION if kind != "none")
BIDIRECTIONAL = tuple(f"bi{cell}" for cell in CELLS)

# What each (family, shape) is built from: its config class and its factory.
BUILDERS = {
    ("transformer", SEQ2SEQ): (TransformerConfig, build_transformer),
    ("transformer", CLASSIFICATION): (EncoderOnlyConfig, build_transformer_classifier),
    ("transformer", TAGGING): (EncoderOnlyConfig, build_transformer_tagger),
    ("transformer", LANGUAGE_MODEL): (DecoderOnlyConfig, build_transformer_language_model),
    ("recurrent", SEQ2SEQ): (RecurrentConfig, build_recurrent),
    ("recurrent", CLASSIFICATION): (RecurrentEncoderConfig, build_recurrent_classifier),
    ("recurrent", TAGGING): (RecurrentEncoderConfig, build_recurrent_tagger),
    ("recurrent", LANGUAGE_MODEL): (RecurrentLMConfig, build_recurrent_language_model),
    ("textcnn", CLASSIFICATION): (TextCNNConfig, build_textcnn),
    ("bag_of_words", CLASSIFICATION): (BagOfWordsConfig, build_bag_of_words),
}
SIZE_FIELDS = {"recurrent": "hidden_size", "textcnn": "n_filters"}  # the field `match_size` tunes, per family
BAG_OF_WORDS = {"bow": "counts", "tfidf": "tfidf"}
TAGGER_OPTIONS = ("", "-char", "-crf", "-char-crf", "-charcnn", "-charcnn-crf")  # char: BiLSTM; charcnn: CNN


def model_names(shape: str) -> tuple[str, ...]:
    """Every model name a task of this shape accepts."""
    if shape == SEQ2SEQ:
        return ("transformer", *CELLS, *(f"{c}-{a}" for c in CELLS for a in RNN_ATTENTION))
    if shape == CLASSIFICATION:
        return (*BAG_OF_WORDS, "textcnn", "transformer", *CELLS, *BIDIRECTIONAL)
    if shape == TAGGING:
        return tuple(f"{base}{option}" for base in ("transformer", *CELLS, *BIDIRECTIONAL) for option in TAGGER_OPTIONS)
    if shape == LANGUAGE_MODEL:
        return ("transformer", *CELLS)
    raise ValueError(f"unknown shape {shape!r}: expected one of {', '.join(SHAPES)}")


MODEL_NAMES = tuple(dict.fromkeys(name for shape in SHAPES for name in model_names(shape)))


def model_shapes(name: str) -> tuple[str, ...]:
    """The shapes a model name can serve (empty for a name no shape knows)."""
    return tuple(shape for shape in SHAPES if name in model_names(shape))


def check_model(name: str, shape: str, task: str = "the task") -> None:
    """Refuse, in one line, a name that no shape knows or one that cannot serve `shape`."""
    shapes = model_shapes(name)
    if not shapes:
        raise ValueError(f"unknown model {name!r}: {task} ({shape}) takes one of {', '.join(model_names(shape))}")
    if shape not in shapes:
        raise ValueError(f"model {name!r} serves {' and '.join(shapes)}, but {task} is {shape}: "
                         f"it takes one of {', '.join(model_names(shape))}")


def parse_model_name(name: str, shape: str = SEQ2SEQ) -> tuple[str, dict]:
    """The family of a name and the config fields the name itself sets.

    `"lstm-bahdanau"` (seq2seq) -> ("recurrent", {"cell": "lstm", "attention": "bahdanau"});
    `"bigru"` (classification) -> ("recurrent", {"cell": "gru", "bidirectional": True});
    `"bilstm-char-crf"` (tagging) -> ("recurrent", {..., "char_features": "lstm", "crf": True}).
    """
    check_model(name, shape)
    if name in BAG_OF_WORDS:
        return "bag_of_words", {"features": BAG_OF_WORDS[name]}
    if name == "textcnn":
        return "textcnn", {}
    options: dict = {}
    if shape == TAGGING:
        name, *flags = name.split("-")
        char = "cnn" if "charcnn" in flags else "lstm" if "char" in flags else "none"
        options = {"char_features": char, "crf": "crf" in flags}
    if name == "transformer":
        return "transformer", options
    cell, _, attention = name.partition("-")
    if shape == SEQ2SEQ:
        return "recurrent", {"cell": cell, "attention": attention or "none"}
    if shape == LANGUAGE_MODEL:
        return "recurrent", {"cell": cell}
    bidirectional = cell.startswith("bi") and cell[2:] in CELLS
    return "recurrent", {"cell": cell[2:] if bidirectional else cell, "bidirectional": bidirectional, **options}


@dataclass(frozen=True)
class Recipe:
    """Per-task defaults: data options, model sizes per family, training settings, decoding length."""

    task_options: dict = field(default_factory=dict)
    transformer_preset: str = "tiny"
    transformer: dict = field(default_factory=dict)
    recurrent: dict = field(default_factory=dict)
    textcnn: dict = field(default_factory=dict)
    bag_of_words: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    family_train: dict = field(default_factory=dict)  # family -> training settings that differ for it
    max_tokens: int = 4096
    decode_extra: int = 10  # seq2seq: max output length = longest source + decode_extra

    def sizes(self, family: str) -> dict:
        """The config fields this recipe sets for a family."""
        return dict(getattr(self, family, {}) or {})


# Logistic regression on sparse features: a convex problem, so a constant, larger step and more
# epochs (SST-2 validation: 0.81-0.83 with these, 0.75 with the networks' warm-up schedule).
BAG_OF_WORDS_TRAINING = {"bag_of_words": dict(schedule="constant", peak_lr=0.01, epochs=20)}
# Sentence classification, real data (SST-2, the tweets, a user's CSV): one recipe for all.
CLASSIFICATION_RECIPE = Recipe(
    transformer_preset="small",
    transformer=dict(dropout=0.1, pooling="mean"),
    recurrent=dict(embedding_size=128, hidden_size=256, dropout=0.5),
    train=dict(epochs=10, peak_lr=1e-3, warmup_steps=200, label_smoothing=0.0),
    family_train=BAG_OF_WORDS_TRAINING,
    max_tokens=2048,
)
SYNTHETIC_TRAINING = dict(epochs=8, peak_lr=2e-3, warmup_steps=200, label_smoothing=0.0)

RECIPES = {
    # BENCHMARKS.md: the smallest recipe found that copies every test sequence: one layer each side
    # and 4 epochs, the rate decayed to 0 by a cosine (100% after 16 s; 2 + 2 layers and 8 epochs of
    # equation (3) took 51 s)
    "copy": Recipe(
        transformer=dict(dropout=0.0, n_encoder_layers=1, n_decoder_layers=1),
        recurrent=dict(embedding_size=64, hidden_size=128, n_layers=1),
        train=dict(epochs=4, peak_lr=2e-3, warmup_steps=400, label_smoothing=0.0, schedule="cosine", final_lr=0.0),
        max_tokens=512,
        decode_extra=4,
    ),
    "reverse": Recipe(
        transformer=dict(dropout=0.0),
        recurrent=dict(embedding_size=64, hidden_size=128, n_layers=1),
        train=dict(epochs=8, peak_lr=2e-3, warmup_steps=400, label_smoothing=0.0),
        max_tokens=512,
        decode_extra=4,
    ),
    "numbers": Recipe(  # BENCHMARKS.md: small batches (more updates) took the Transformer past 99% exact match
        transformer=dict(dropout=0.1),
        recurrent=dict(embedding_size=64, hidden_size=128, n_layers=1, bidirectional_encoder=True),
        train=dict(epochs=20, peak_lr=3e-3, warmup_steps=300, label_smoothing=0.1),
        max_tokens=1536,
        decode_extra=12,
    ),
    # BENCHMARKS.md: chosen on validation (benchmarks/multi30k_averages.py); bfloat16 on the 2-core CPU
    # BPE pieces in one vocabulary for both languages, one embedding table for source, target and
    # generator (the paper's choice): +0.8 BLEU beam 4 on validation over words (BENCHMARKS.md).
    "multi30k": Recipe(
        task_options=dict(tokenizer="bpe", bpe_size=8000, shared_vocab=True),
        transformer_preset="small",
        transformer=dict(dropout=0.1, d_ff=512, attention_dropout=0.0, ff_dropout=0.0, share_embeddings=True),
        recurrent=dict(embedding_size=256, hidden_size=512, n_layers=1, bidirectional_encoder=True, dropout=0.2),
        train=dict(epochs=19, peak_lr=1e-3, warmup_steps=1000, label_smoothing=0.1, average_last=5),
        max_tokens=4096,
        decode_extra=20,
    ),
    "pairs": Recipe(
        transformer_preset="small",
        recurrent=dict(embedding_size=256, hidden_size=512, n_layers=1, bidirectional_encoder=True, dropout=0.2),
        train=dict(epochs=15, peak_lr=1e-3, warmup_steps=1000, label_smoothing=0.1),
        max_tokens=4096,
        decode_extra=20,
    ),
    # The synthetic task of each other shape: trains end to end in seconds (the spec uses them).
    "sorted": Recipe(
        transformer=dict(dropout=0.0, max_len=64),
        recurrent=dict(embedding_size=32, hidden_size=64),
        train=SYNTHETIC_TRAINING,
        max_tokens=512,
    ),
    "running-max": Recipe(
        transformer=dict(dropout=0.0, max_len=64),
        recurrent=dict(embedding_size=32, hidden_size=64),
        train=SYNTHETIC_TRAINING,
        max_tokens=512,
    ),
    "grammar": Recipe(
        transformer=dict(dropout=0.0, max_len=32),
        recurrent=dict(embedding_size=32, hidden_size=64),
        train=dict(SYNTHETIC_TRAINING, epochs=6),
        max_tokens=512,
    ),
    # Real data of the other shapes (chapters 12-14, BENCHMARKS.md).
    "sst2": CLASSIFICATION_RECIPE,
    "tweets": CLASSIFICATION_RECIPE,
    "csv": CLASSIFICATION_RECIPE,
    "ud-pos": Recipe(
        transformer_preset="small",
        transformer=dict(dropout=0.3),  # 0.1 overfit by the fourth epoch (validation 0.912; 0.3: 0.917)
        recurrent=dict(embedding_size=128, hidden_size=256, dropout=0.3),
        train=dict(epochs=30, peak_lr=2e-3, warmup_steps=300, label_smoothing=0.0),
        # BENCHMARKS.md: 10 epochs with a cosine decay and word dropout 0.1 (validation 0.923 at the
        # best epoch; equation (3) and no word dropout: 0.917, flat from the sixth epoch)
        family_train={"transformer": dict(epochs=10, schedule="cosine", word_dropout=0.1)},
        max_tokens=2048,
    ),
    "shakespeare": Recipe(  # nanoGPT's CPU configuration: 4 layers of 128, a window of 64, no dropout
        task_options=dict(context=64, epoch_tokens=250_000),
        transformer_preset="small",
        transformer=dict(d_model=128, n_heads=4, d_ff=512, n_layers=4, dropout=0.0, max_len=64),
        recurrent=dict(embedding_size=128, hidden_size=512, n_layers=1, dropout=0.0),
        train=dict(epochs=40, peak_lr=2e-3, warmup_steps=100, label_smoothing=0.0),
        max_tokens=4096,
    ),
    "text": Recipe(
        transformer_preset="small",
        transformer=dict(max_len=128),
        recurrent=dict(embedding_size=256, hidden_size=512, n_layers=1, dropout=0.1),
        train=dict(epochs=5, peak_lr=1e-3, warmup_steps=200, label_smoothing=0.0),
        max_tokens=8192,
    ),
}


def model_spec(name: str, data, recipe: Recipe, overrides: dict | None = None,
               match_parameters: int | None = None) -> dict:
    """The JSON description a model is built from: name, family, shape and config fields.

    The config is the family's preset for the recipe, sized to the task's vocabulary and outputs,
    with the fields the name sets (cell, attention, direction), then `overrides` (`--set`).
    """
    shape = data.shape
    family, named = parse_model_name(name, shape)
    config_class, _ = BUILDERS[(family, shape)]
    fields = {f.name for f in dataclasses.fields(config_class)}
    sizes = {k: v for k, v in data.model_sizes().items() if k in fields}
    settings = {**recipe.sizes(family), **named, **(overrides or {})}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise ValueError(f"{config_class.__name__}: unknown field(s) {', '.join(unknown)}; "
                         f"expected some of {', '.join(sorted(fields - set(sizes)))}")
    if family == "transformer":
        config = getattr(config_class, recipe.transformer_preset)(**sizes, **settings)
    elif family in ("textcnn", "bag_of_words"):  # their configs call the outputs n_classes
        config = config_class(sizes["vocab_size"], data.model_sizes()["n_outputs"], **settings)
    else:
        config = config_class(**sizes, **settings)
    if match_parameters and family in SIZE_FIELDS:
        config = match_size(config, match_parameters, BUILDERS[(family, shape)][1], SIZE_FIELDS[family])
    return {"name": name, "family": family, "shape": shape, "config": config.to_dict()}


def _builder(spec: dict):
    key = (spec["family"], spec.get("shape", SEQ2SEQ))  # run folders from before the shapes are seq2seq
    if key not in BUILDERS:
        raise ValueError(f"unknown model family {key[0]!r} for shape {key[1]!r} in the run's description")
    return BUILDERS[key]


def build_model(spec: dict) -> nn.Module:
    """The model a spec describes, freshly initialised."""
    config_class, factory = _builder(spec)
    return factory(config_class.from_dict(spec["config"]))


def config_of(spec: dict):
    """The config object of a spec (validated)."""
    return _builder(spec)[0].from_dict(spec["config"])


def recipe_train_config(recipe: Recipe, overrides: dict, family: str | None = None) -> TrainConfig:
    """The recipe's training settings (with those it sets for `family`), then `overrides`."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown training setting(s) {', '.join(unknown)}: expected some of {', '.join(sorted(known))}")
    return TrainConfig(**{**recipe.train, **recipe.family_train.get(family, {}), **overrides})


def count_recurrent_parameters(config: RecurrentConfig) -> int:
    """Trainable parameters of `build_recurrent(config)`, without allocating them."""
    with torch.device("meta"):
        return count_parameters(build_recurrent(config))


def match_size(config, target_parameters: int, build, size_field: str = "hidden_size"):
    """`config` with the size whose parameter count comes closest to `target_parameters`.

    Everything else (embedding size, layers, attention) stays as configured, so two model
    families can be compared at (nearly) equal size. The count grows with the size, so a
    bisection finds the two neighbours around the target; the closer one wins. A size that a
    bidirectional model splits over two directions stays even. `build` is the factory of the config.
    """
    step = 2 if getattr(config, "bidirectional_encoder", False) or getattr(config, "bidirectional", False) else 1

    def count(units: int) -> int:
        with torch.device("meta"):
            return count_parameters(build(dataclasses.replace(config, **{size_field: step * units})))

    if count(1) >= target_parameters:
        return dataclasses.replace(config, **{size_field: step})
    low, high = 1, 2
    while count(high) < target_parameters:
        low, high = high, 2 * high
    while high - low > 1:  # invariant: count(low) < target <= count(high)
        middle = (low + high) // 2
        low, high = (middle, high) if count(middle) < target_parameters else (low, middle)
    best = min((low, high), key=lambda units: abs(count(units) - target_parameters))
    return dataclasses.replace(config, **{size_field: step * best})


def match_hidden_size(config: RecurrentConfig, target_parameters: int) -> RecurrentConfig:
    """A recurrent seq2seq config with the hidden size whose parameter count is closest to the target."""
    return match_size(config, target_parameters, build_recurrent)
