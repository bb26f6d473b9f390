"""The epoch's batch order: seeded, a partition of the examples, and bucketed by length on request."""

import torch

from afa.train import batch_order


def test_unbucketed_order_is_the_seeded_permutation_in_slices():
    lengths = list(range(10))
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(3 * 1000 + 1)).tolist()
    assert batch_order(lengths, 4, seed=3, epoch=1) == [perm[:4], perm[4:8], perm[8:]]


def test_buckets_partition_the_examples_and_cut_padding():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(2, 60, (1000,), generator=g).tolist()
    plain, bucketed = batch_order(lengths, 32, 1, 0), batch_order(lengths, 32, 1, 0, buckets=10)
    assert sorted(i for b in bucketed for i in b) == list(range(1000))
    assert len(bucketed) == len(plain)          # only the last pool leaves a short batch
    padded = lambda batches: sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert padded(bucketed) < 0.7 * padded(plain)
    assert bucketed == batch_order(lengths, 32, 1, 0, buckets=10)   # seeded: a resume sees the same batches
    assert bucketed != batch_order(lengths, 32, 1, 1, buckets=10)   # and a new epoch new ones
