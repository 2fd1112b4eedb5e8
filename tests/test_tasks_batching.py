"""Spec for batching (chapter 01): every pair once per epoch, padding only at the end, targets
shifted by one, the token budget kept, less padding when sorted by length, the same seed giving
the same batches."""

import random

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from transformer.masks import padding_mask
from transformer.tasks import BOS, EOS, PAD, Batch, batch_cost, make_batch, make_batches

pytestmark = pytest.mark.tokens

IDS = st.lists(st.integers(3, 30), min_size=0, max_size=12)  # real token ids (UNK=3 included), never PAD
PAIRS = st.lists(st.tuples(IDS, IDS).map(lambda p: (list(p[0]), list(p[1]))), min_size=1, max_size=40)
LIMITS = st.one_of(
    st.tuples(st.integers(1, 120), st.none()),
    st.tuples(st.none(), st.integers(1, 9)),
    st.tuples(st.integers(1, 120), st.integers(1, 9)),
)


def random_pairs(n: int, max_len: int, seed: int = 0) -> list[tuple[list[int], list[int]]]:
    """Pairs whose source and target lengths vary independently between 1 and max_len."""
    rng = random.Random(seed)
    return [([rng.randrange(4, 50) for _ in range(rng.randint(1, max_len))],
             [rng.randrange(4, 50) for _ in range(rng.randint(1, max_len))]) for _ in range(n)]


def rows(batch: Batch):
    """(index, src row, tgt_in row, tgt_out row) as lists."""
    return zip(batch.indices.tolist(), batch.src.tolist(), batch.tgt_in.tolist(), batch.tgt_out.tolist())


@given(PAIRS, LIMITS, st.booleans(), st.booleans(), st.integers(0, 10))
def test_every_pair_appears_exactly_once_per_epoch(pairs, limits, shuffle, sort_by_length, seed):
    """The batches of an epoch hold each pair once, at the row `indices` says."""
    max_tokens, batch_size = limits
    batches = make_batches(pairs, max_tokens, batch_size, shuffle=shuffle, seed=seed, sort_by_length=sort_by_length)
    seen = sorted(i for batch in batches for i in batch.indices.tolist())
    assert seen == list(range(len(pairs))), f"indices seen {seen} for {len(pairs)} pairs"
    for batch in batches:
        for i, src, _, tgt_out in rows(batch):
            x, y = pairs[i]
            assert src[: len(x)] == x and tgt_out[: len(y)] == y, f"row for pair {i} holds other tokens"


@given(PAIRS)
def test_rows_are_source_plus_eos_and_targets_shifted_by_one(pairs):
    """src = x + EOS, tgt_in = BOS + y, tgt_out = y + EOS, each padded with PAD only after its end."""
    batch = make_batch(pairs)
    for i, src, tgt_in, tgt_out in rows(batch):
        x, y = pairs[i]
        assert src == x + [EOS] + [PAD] * (len(src) - len(x) - 1), f"src row {i}: {src} for x={x}"
        assert tgt_in == [BOS] + y + [PAD] * (len(tgt_in) - len(y) - 1), f"tgt_in row {i}: {tgt_in} for y={y}"
        assert tgt_out == y + [EOS] + [PAD] * (len(tgt_out) - len(y) - 1), f"tgt_out row {i}: {tgt_out} for y={y}"
        assert tgt_in[1 : len(y) + 1] == tgt_out[: len(y)], "tgt_out must be tgt_in shifted left by one"


@given(PAIRS)
def test_padding_mask_is_true_exactly_on_the_true_length(pairs):
    """`padding_mask(src, PAD)` marks len(x)+1 leading positions of each row, so PAD never sits inside a sequence."""
    batch = make_batch(pairs)
    true_lengths = torch.tensor([len(x) + 1 for x, _ in pairs])
    expected = torch.arange(batch.src.shape[1])[None, :] < true_lengths[:, None]
    mask = padding_mask(batch.src, PAD)
    assert torch.equal(mask, expected), (
        f"padding mask {mask.int().tolist()} is not True on exactly len(x) + 1 = {true_lengths.tolist()} leading positions")
    assert batch.src.shape[1] == int(true_lengths.max()), "the batch is wider than its longest row"


@given(PAIRS)
def test_token_counts(pairs):
    """n_tgt_tokens counts y plus EOS for each pair (what the loss averages over); n_pad_tokens the rest."""
    batch = make_batch(pairs)
    expected_tgt = sum(len(y) + 1 for _, y in pairs)
    assert batch.n_tgt_tokens == expected_tgt, f"n_tgt_tokens {batch.n_tgt_tokens}, expected len(y) + 1 summed: {expected_tgt}"
    expected_src = sum(len(x) + 1 for x, _ in pairs)
    assert batch.n_src_tokens == expected_src, f"n_src_tokens {batch.n_src_tokens}, expected len(x) + 1 summed: {expected_src}"
    expected_pad = batch.src.numel() + batch.tgt_out.numel() - batch.n_src_tokens - batch.n_tgt_tokens
    assert batch.n_pad_tokens == expected_pad, (
        f"n_pad_tokens {batch.n_pad_tokens}, expected the other entries of src and tgt_out: {expected_pad}")
    assert batch.size == len(pairs), f"batch.size {batch.size} for {len(pairs)} pairs"


@given(PAIRS, LIMITS, st.booleans(), st.integers(0, 10))
def test_token_budget_and_batch_size_are_respected(pairs, limits, shuffle, seed):
    """No batch exceeds batch_size, nor max_tokens padded tokens unless it is one pair too long alone."""
    max_tokens, batch_size = limits
    for batch in make_batches(pairs, max_tokens, batch_size, shuffle=shuffle, seed=seed):
        cost = batch.size * max(batch.src.shape[1], batch.tgt_out.shape[1])
        budgeted = batch_cost([pairs[i] for i in batch.indices.tolist()])
        assert cost == budgeted, f"the batch's padded size is {cost}, but batch_cost counted {budgeted}"
        if max_tokens is not None and batch.size > 1:
            assert cost <= max_tokens, f"batch of {batch.size} costs {cost} > max_tokens={max_tokens}"
        if batch_size is not None:
            assert batch.size <= batch_size, f"batch of {batch.size} > batch_size={batch_size}"


@pytest.mark.parametrize("max_tokens", [7, 40, 97, 600])
@pytest.mark.parametrize("sort_by_length", [True, False])
def test_token_budget_holds_on_a_larger_epoch(max_tokens, sort_by_length):
    """The same budget rule on 500 pairs of lengths 1-30, where lengths change inside many batches."""
    pairs = random_pairs(500, max_len=30, seed=max_tokens)
    for batch in make_batches(pairs, max_tokens, shuffle=True, seed=2, sort_by_length=sort_by_length):
        cost = batch.size * max(batch.src.shape[1], batch.tgt_out.shape[1])
        assert batch.size == 1 or cost <= max_tokens, f"batch of {batch.size} costs {cost} > {max_tokens}"


def test_batches_are_as_full_as_the_budget_allows():
    """Pairs of one length (padded width 4) fill max_tokens=12 with exactly 3 rows per batch."""
    pairs = [([5, 6, 7], [8, 9, 10])] * 10
    sizes = [batch.size for batch in make_batches(pairs, max_tokens=12)]
    assert sizes == [3, 3, 3, 1], f"batch sizes {sizes}: each row costs 4 tokens (3 + EOS or BOS)"


def test_sorting_by_length_cuts_padding():
    """Neighbours of similar length need little padding: sorted batches waste far less than random ones."""
    pairs = random_pairs(2000, max_len=30)
    sorted_pad = sum(b.n_pad_tokens for b in make_batches(pairs, max_tokens=600, shuffle=True, seed=1))
    random_pad = sum(b.n_pad_tokens for b in make_batches(pairs, max_tokens=600, shuffle=True, seed=1,
                                                          sort_by_length=False))
    # Measured: 16,110 against 53,047. Targets are sorted only within equal source lengths, hence not 0.
    assert sorted_pad < random_pad / 2, f"padding sorted {sorted_pad} vs unsorted {random_pad}: expected < 1/2"


def test_sorted_batches_hold_similar_lengths():
    """Within a sorted batch, source lengths differ by little (here at most a few tokens)."""
    pairs = random_pairs(2000, max_len=30)
    for batch in make_batches(pairs, max_tokens=600, shuffle=True, seed=3):
        lengths = [len(pairs[i][0]) for i in batch.indices.tolist()]
        assert max(lengths) - min(lengths) <= 2, f"source lengths {min(lengths)}..{max(lengths)} in one batch"


@given(PAIRS, LIMITS, st.booleans(), st.booleans(), st.integers(0, 10))
def test_same_seed_gives_the_same_batches(pairs, limits, shuffle, sort_by_length, seed):
    """Batching is a pure function of its arguments: a run repeats exactly."""
    max_tokens, batch_size = limits
    first = make_batches(pairs, max_tokens, batch_size, shuffle=shuffle, seed=seed, sort_by_length=sort_by_length)
    again = make_batches(pairs, max_tokens, batch_size, shuffle=shuffle, seed=seed, sort_by_length=sort_by_length)
    assert len(first) == len(again), f"the same seed gave {len(first)} and then {len(again)} batches"
    for n, (a, b) in enumerate(zip(first, again)):
        differ = [f for f in ("src", "tgt_in", "tgt_out", "indices") if not torch.equal(getattr(a, f), getattr(b, f))]
        assert not differ, f"batch {n} differs between two calls with the same seed, in {differ}"


def test_another_seed_gives_another_epoch():
    """Shuffling with a new seed (seed + epoch) changes which pairs meet and in which order."""
    pairs = random_pairs(300, max_len=12)
    first = [b.indices.tolist() for b in make_batches(pairs, batch_size=16, shuffle=True, seed=0)]
    second = [b.indices.tolist() for b in make_batches(pairs, batch_size=16, shuffle=True, seed=1)]
    assert first != second, "seeds 0 and 1 gave the same batches: shuffling ignores the seed"


def test_without_shuffle_or_sorting_the_order_is_kept():
    """shuffle=False, sort_by_length=False cuts the list into consecutive batches, in order."""
    pairs = random_pairs(23, max_len=5)
    batches = make_batches(pairs, batch_size=5, sort_by_length=False)
    found = [b.indices.tolist() for b in batches]
    assert found == [list(range(i, min(i + 5, 23))) for i in range(0, 23, 5)], f"batches hold the pairs {found}"


@given(PAIRS, LIMITS, st.integers(2, 8), st.booleans(), st.integers(0, 10))
def test_pad_multiple_pads_every_axis_and_keeps_the_rows(pairs, limits, multiple, shuffle, seed):
    """With pad_multiple m every sequence axis is a multiple of m, each row holds what it holds
    without it followed by PAD only, no axis is padded further than the next multiple, and the
    token budget counts the padded width."""
    max_tokens, batch_size = limits
    padded = make_batches(pairs, max_tokens, batch_size, shuffle=shuffle, seed=seed, pad_multiple=multiple)
    seen = sorted(i for b in padded for i in b.indices.tolist())
    assert seen == list(range(len(pairs))), f"indices seen {seen} for {len(pairs)} pairs"
    for batch in padded:
        widths = (batch.src.shape[1], batch.tgt_in.shape[1], batch.tgt_out.shape[1])
        assert all(w % multiple == 0 for w in widths), f"widths {widths} are not multiples of {multiple}"
        assert batch.tgt_in.shape == batch.tgt_out.shape, f"tgt_in {batch.tgt_in.shape} and tgt_out {batch.tgt_out.shape} differ"
        plain = make_batch([pairs[i] for i in batch.indices.tolist()], batch.indices.tolist())
        for name in ("src", "tgt_in", "tgt_out"):
            a, b = getattr(plain, name), getattr(batch, name)
            assert torch.equal(b[:, : a.shape[1]], a) and bool((b[:, a.shape[1]:] == PAD).all()), \
                f"{name}: the padded batch's rows differ from the unpadded rows beyond PAD"
            assert a.shape[1] + multiple > b.shape[1], f"{name}: padded to {b.shape[1]}, more than needed for {a.shape[1]}"
        if max_tokens is not None and batch.size > 1:
            cost = batch.size * max(batch.src.shape[1], batch.tgt_out.shape[1])
            assert cost <= max_tokens, f"a batch of padded cost {cost} over the budget {max_tokens}"


def test_pad_multiple_leaves_a_models_loss_unchanged():
    """PAD columns are masked out: a Transformer's loss on a batch is the same padded or not."""
    from transformer import TransformerConfig, build_transformer
    from transformer.losses import label_smoothed_cross_entropy

    torch.manual_seed(0)
    model = build_transformer(TransformerConfig.tiny(50, 50)).eval()
    pairs = random_pairs(30, 11, seed=3)
    plain = make_batch(pairs)
    padded = make_batches(pairs, batch_size=30, sort_by_length=False, pad_multiple=8)[0]
    assert padded.src.shape[1] % 8 == 0 and padded.src.shape[1] > plain.src.shape[1], \
        f"src padded to {padded.src.shape[1]} from {plain.src.shape[1]}: expected the next multiple of 8"
    with torch.no_grad():
        a = label_smoothed_cross_entropy(model(plain.src, plain.tgt_in), plain.tgt_out, 0.1, PAD)
        b = label_smoothed_cross_entropy(model(padded.src, padded.tgt_in), padded.tgt_out, 0.1, PAD)
    torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6, msg=f"loss {b.item():.6f} padded, {a.item():.6f} not")


def test_batch_moves_to_a_device():
    """Batch.to gives the same tensors on the named device."""
    batch = make_batch([([4, 5], [6])]).to("cpu")
    found = (batch.src.tolist(), batch.indices.tolist())
    assert found == ([[4, 5, EOS]], [0]), f"after .to('cpu') src and indices are {found}"


def test_batching_errors_name_the_problem():
    """Missing limits, an empty batch and a PAD inside a sequence are refused with one line."""
    with pytest.raises(ValueError, match="max_tokens or batch_size"):
        make_batches([([4], [5])])
    with pytest.raises(ValueError, match="positive limits"):
        make_batches([([4], [5])], batch_size=0)
    with pytest.raises(ValueError, match="pad_multiple to be an integer >= 1, got 0"):
        make_batches([([4], [5])], batch_size=1, pad_multiple=0)
    with pytest.raises(ValueError, match="at least one pair"):
        make_batch([])
    with pytest.raises(ValueError, match="PAD id 0"):
        make_batch([([4, PAD], [5])])


def test_token_plots_are_titled_labelled_and_show_the_mask():
    """The chapter's figures: titled and labelled, and the mask panel is exactly `ids != PAD`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from transformer.plotting.tokens import plot_length_histogram, plot_padded_batch, plot_padding_cost
    from transformer.tasks import Vocabulary

    batch = make_batch([([4, 5, 6], [4]), ([5], [6, 4])])
    figures = {
        "padded": plot_padded_batch(batch.src, Vocabulary(["a", "b", "c"]), title="padded"),
        "lengths": plot_length_histogram({"src": [1, 2, 2, 5]}, title="lengths"),
        "cost": plot_padding_cost({"sorted": (90, 10), "random": (90, 60)}, title="cost"),
    }
    for name, fig in figures.items():
        titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
        assert name in titles, f"{name}: titles {titles}"
        labels = [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]
        assert any(x for x, _ in labels) and any(y for _, y in labels), f"{name}: axis labels {labels}"
    mask_image = figures["padded"].axes[1].images[0].get_array()
    assert (mask_image == (batch.src != PAD).numpy()).all(), "the mask panel differs from ids != PAD"
    with pytest.raises(ValueError, match="non-empty"):
        plot_length_histogram({"src": []})
    plt.close("all")
