#!/bin/bash
# The same short AFA run (the c6 / claims-grid settings, 3,000 train phrases, one epoch) under two or more codes.
# Usage: same_objective_refill.sh [worktree ...]   (worktrees of the commits to compare, in /work; default the
# first comparison's wt_old (f4b85a6) and wt_head (c769f77)). WARM=1 runs, instead, the same run with D's
# warm-up (disc_warmup 30, disc_steps 0: the afa_strong_d column's way of training D, shortened).
set -e
S='{"method": {"K": 3, "K_fraction": null, "M": 4, "collapse_window": 200, "disc": {"d_ff": 512, "d_model": 64, "dropout": 0.1, "heads": 4, "layers": 1, "lr": 0.001}, "disc_steps": 1, "entropy_weight": 0.3, "eps": 0.1, "explore_scoring": "mixture", "lambda": 0.5, "masking": "delete", "normalize_advantage": false, "objective": "afa", "reward": "detect", "selection": "sample"}, "model": {"d_ff": 256, "d_model": 128, "dropout": 0.3, "freeze_embeddings": false, "glove_init": true, "glove_vocab": 100000, "heads": 4, "kind": "scratch", "layers": 2, "positions": "sinusoidal"}, "train": {"batch_size": 64, "device": "auto", "epochs": 1, "grad_clip": 1.0, "log_every": 10, "lr": 0.0005, "patience": 2, "warmup_fraction": 0.1, "weight_decay": 0.01, "max_train": 3000, "max_validation": 200}}'
[ "${WARM:-0}" = 1 ] && S=${S/'"disc_steps": 1'/'"disc_steps": 0, "disc_warmup": 30'}
D=${DATA:-results/studies/sst2_recipe/data}   # a prepared sst2 and sst_phrases (any outdir of config/paper.yaml + mirror.yaml)
WTS=("$@"); [ ${#WTS[@]} -eq 0 ] && WTS=(wt_old wt_head)
for wt in "${WTS[@]}"; do
  cd "/work/$wt"; rm -rf "/tmp/ident/$wt" "/tmp/ident/$wt.log"
  OMP_NUM_THREADS=1 PYTHONPATH="/work/$wt/src" nice -n 5 python -m afa.cli train --data "$D/sst2" --out "/tmp/ident/$wt" --dataset sst2 --seed 1 --max-length 64 --settings "$S" --lexicon "$D/sst_phrases/lexicon.json" --log "/tmp/ident/$wt.log"
done
cd /tmp/ident
for f in model.safetensors afa.safetensors dynamics.jsonl; do for wt in "${WTS[@]}"; do sha256sum "$wt/$f"; done; done
for wt in "${WTS[@]}"; do python -c "import json, sys; m = json.load(open(f'/tmp/ident/{sys.argv[1]}/train_metrics.json')); print(m['provenance'], m.get('disc_warmup'))" "$wt"; done
