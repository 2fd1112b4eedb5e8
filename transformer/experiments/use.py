"""Using a trained run on new text: classify sentences, tag words, continue a text.

(Translating is `transformer.experiments.evaluate.translate_texts`.) Each function loads the run
folder, reads the raw text with the run's own codec, and refuses a run of another shape.
"""

from pathlib import Path

import torch

from transformer.experiments.runs import load_run
from transformer.interface import CLASSIFICATION, LANGUAGE_MODEL, TAGGING
from transformer.tasks import JOINER, WordTokenizer
from transformer.tasks.batching import pad_rows
from transformer.tasks.tagging import encode_words


def _load(run_dir: Path, shape: str, command: str):
    model, meta = load_run(run_dir)
    if meta["shape"] != shape:
        raise ValueError(f"{command}: {run_dir} holds a {meta['shape']} model; {command} takes a {shape} run")
    return model, meta


def _non_empty(texts: list[str], command: str) -> list[str]:
    texts = [t.strip() for t in texts]
    if not texts or any(not t for t in texts):
        raise ValueError(f"{command}: expected non-empty text, got an empty line")
    return texts


def classify_texts(run_dir: Path, texts: list[str], explain: str | None = None, seed: int = 0) -> list[tuple]:
    """The predicted class of each text and its probability under the model; with `explain`
    ("occlusion" or "lime"), also each token with its importance for that class."""
    from transformer.classification.explain import lime, occlusion

    model, meta = _load(run_dir, CLASSIFICATION, "classify")
    codec, labels = meta["source_codec"], meta["labels"]
    if explain not in (None, "occlusion", "lime"):
        raise ValueError(f"--explain: expected occlusion or lime, got {explain!r}")
    texts = _non_empty(texts, "classify")
    if meta["task_options"].get("clean", meta["task"] == "tweets"):
        from transformer.tasks.classification import clean_text

        texts = [clean_text(t) for t in texts]
    results = []
    device = next(model.parameters()).device
    for text in texts:
        ids = codec.encode(text)
        if not ids:
            raise ValueError(f"classify: the text {text[:40]!r} has no tokens the model can read")
        with torch.no_grad():
            probabilities = model(torch.tensor([ids], device=device)).softmax(dim=-1)[0]
        best = int(probabilities.argmax())
        result = (labels.name(best), float(probabilities[best]))
        if explain is not None:
            method = occlusion if explain == "occlusion" else (lambda m, i: lime(m, i, seed=seed))
            explanation = method(model, torch.tensor(ids))
            tokens = codec.tokenizer.tokenize(text)
            result += ([(token, float(value)) for token, value in zip(tokens, explanation.importance.tolist())],)
        results.append(result)
    return results


def words_of(text: str) -> list[str]:
    """A sentence cut into words and punctuation marks (as treebanks write them: "sat." -> "sat", ".")."""
    return [token.strip(JOINER) or token for token in WordTokenizer().tokenize(text)]


@torch.no_grad()
def tag_texts(run_dir: Path, texts: list[str]) -> list[list[tuple[str, str]]]:
    """Each sentence's words with their predicted tags."""
    model, meta = _load(run_dir, TAGGING, "tag")
    vocab, chars, tags = meta["source_codec"].vocab, meta["chars"], meta["tags"]
    device = next(model.parameters()).device
    results = []
    for text in _non_empty(texts, "tag"):
        words = text.split() if meta["task"] != "ud-pos" else words_of(text)
        ids, spelled = encode_words(words, vocab, chars)
        ids_tensor = torch.tensor([ids], device=device)
        chars_tensor = pad_rows(spelled).unsqueeze(0).to(device)
        mask = ids_tensor != model.pad_id
        predicted = model.predict(model(ids_tensor, chars_tensor), mask)[0].tolist()
        results.append([(word, tags.name(tag)) for word, tag in zip(words, predicted)])
    return results


@torch.no_grad()
def generate_text(run_dir: Path, prompt: str, n_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None, seed: int | None = 0, on_text=None) -> str:
    """Continue `prompt` with a trained language model; `on_text(piece)` gets the text as it grows.

    An empty prompt starts a new line (a newline character, or the end-of-line token of a word
    model). The model never writes padding, BOS or (for characters) UNK.
    """
    from transformer.generation import generate
    from transformer.tasks import BOS, EOS, PAD, UNK
    from transformer.tasks.language import LanguageModelData

    model, meta = _load(run_dir, LANGUAGE_MODEL, "generate")
    codec = meta["source_codec"]
    data = LanguageModelData("generate", {}, codec, meta["codecs"].get("context", 1))
    characters = codec.tokenizer.name == "text-char"
    if prompt:
        ids = codec.encode(prompt)
    else:
        ids = codec.encode("\n") if characters else [EOS]
    if not ids:
        raise ValueError(f"generate: the prompt {prompt[:40]!r} has no tokens the model can read")
    unknown = [token for token in codec.tokenizer.tokenize(prompt) if token not in codec.vocab]
    if unknown and characters:
        raise ValueError(f"generate: the prompt holds characters the model never saw: {''.join(sorted(set(unknown)))!r}")
    device = next(model.parameters()).device
    produced: list[int] = []

    def text_of(new: list[int]) -> str:
        return codec.decode(ids + new) if characters else data.decode(ids + new)

    shown = text_of([])
    if on_text is not None:
        on_text(shown)

    def stream(tokens) -> None:
        nonlocal shown
        produced.append(int(tokens[0]))
        text = text_of(produced)
        if on_text is not None and text.startswith(shown):
            on_text(text[len(shown):])
        shown = text

    forbid = (PAD, BOS, UNK) if characters else (PAD, BOS)
    generate(model, torch.tensor([ids], device=device), n_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
             seed=seed, on_token=stream, forbid=forbid)
    return text_of(produced)
