"""Experiments: the glue between tasks, model families and the training loop.

Used by the CLI (`transformer train/evaluate/translate/compare/demo`) and chapter 11:
  recipes   model names -> model descriptions and builders, per-task recipes, parameter matching
  runs      train (or resume) one model on one task into a run folder; load a run back
  evaluate  decode a split and score it; translate new text with a run
  compare   every family on one task at matched size: a table and plots; the demo
"""

from transformer.experiments.compare import compare, comparison_table, demo, plot_curves, plot_exact_match_by_length
from transformer.experiments.evaluate import decode_split, evaluate_split, translate_texts
from transformer.experiments.recipes import (
    MODEL_NAMES,
    RECIPES,
    Recipe,
    build_model,
    count_recurrent_parameters,
    match_hidden_size,
    model_spec,
    parse_model_name,
)
from transformer.experiments.runs import load_run, train_run

__all__ = [
    "MODEL_NAMES",
    "RECIPES",
    "Recipe",
    "build_model",
    "compare",
    "comparison_table",
    "count_recurrent_parameters",
    "decode_split",
    "demo",
    "evaluate_split",
    "load_run",
    "match_hidden_size",
    "model_spec",
    "parse_model_name",
    "plot_curves",
    "plot_exact_match_by_length",
    "train_run",
    "translate_texts",
]
