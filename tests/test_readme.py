"""The README's two commands stay true (CI runs the second), and its library example runs."""

import re

import pytest

from conftest import REPO


def readme_commands():
    text = (REPO / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.*?)```", text, re.S)[:2]


def test_readme_starts_with_run_and_test_commands():
    run, test = readme_commands()
    assert "snakemake" in run and "pip install torch==2.13.0" in run
    assert "pytest" in test and "pip install torch==2.13.0" in test


def test_ci_runs_the_readme_test_command():
    _, test = readme_commands()
    install_and_test = test.strip().splitlines()[-1].split("&& ", 2)[-1]  # after venv creation/activation
    assert install_and_test in (REPO / ".ci" / "run").read_text()


def test_use_afa_on_your_own_model_runs_as_written(tmp_path, monkeypatch):
    section = (REPO / "README.md").read_text().split("## Use AFA on your own model", 1)[1]
    train, evaluate = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    assert len(train.strip().splitlines()) <= 20 and len(evaluate.strip().splitlines()) <= 20
    monkeypatch.chdir(tmp_path)  # its output_dir is relative
    scope = {}
    exec(compile(train, "README.md", "exec"), scope)
    exec(compile(evaluate, "README.md", "exec"), scope)  # the evaluations, on the model just trained
    assert 0 <= scope["summary"]["auprc"] <= 1 and len(scope["per_example"]) == 4
    # deletion read the saved folder (AFATrainer.save_model): ERASER's aggregates over its bins
    assert scope["result"]["eraser"] is not None and scope["result"]["n"] == 4
    trainer = scope["trainer"]
    assert trainer.state.global_step == trainer.args.max_steps
    assert all("L_adv" in h and "disc_acc" in h for h in trainer.state.log_history if "loss" in h)
    assert list(tmp_path.glob("*/checkpoint-*/afa_state.pt"))


def test_the_readmes_claims_numbers_are_the_claims_tables():
    """"Where the replication stands" and the claims table in README are generated from
    results/paper/claims.csv (`afa claims-summary --update README.md`): no number there is typed by hand."""
    import pandas as pd

    from afa import summary

    readme = (REPO / "README.md").read_text()
    table = pd.read_csv(REPO / "results" / "paper" / "claims.csv")
    probe = pd.read_csv(REPO / "results" / "paper" / "probe_table.csv")
    disc_csv = REPO / "results" / "discriminator" / "discriminator.csv"
    disc = pd.read_csv(disc_csv) if disc_csv.exists() else None
    assert summary.readme_blocks(readme, table, probe, disc) == readme, "run `afa claims-summary --update README.md`"
    assert "<!-- claims-standing -->\n" + summary.standing(table) + "\n<!-- /claims-standing -->" in readme


def test_the_results_pages_tables_are_the_report_csvs():
    """docs/results.md's tables are generated from results/paper's CSVs (`afa claims-summary
    --results-page docs/results.md`), one per report page: none missing, none stale."""
    from afa import summary

    page = (REPO / "docs" / "results.md").read_text()
    assert all(f"<!-- {name} -->" in page for name in summary.RESULTS_BLOCKS)
    assert summary.results_blocks(page, REPO / "results" / "paper") == page, \
        "run `afa claims-summary --update README.md --results-page docs/results.md`"


def test_the_probe_sentence_says_the_held_discriminator_where_its_runs_are_probed():
    import pandas as pd

    from afa import summary

    def row(method, p, diff):
        return {**summary.PROBE_HEADLINE, "method": method, "seeds": 10, "share": "0.6 [0.5, 0.7]",
                "effect_size": "0.4 [0.2, 0.6]", "p": p, "mean_diff_mean": diff}

    live = pd.DataFrame([row("afa", 0.76, 0.01)])
    assert summary.probe_headline(live).endswith("(p 0.76): no preference on average is shown.")
    both = summary.probe_headline(pd.concat([live, pd.DataFrame([row("afa_strong_d", 0.0001, 0.02)])]))
    assert both.endswith("(`afa_strong_d`, 10 seeds), the share is 0.6 [0.5, 0.7] and the effect size 0.4 [0.2, 0.6] "
                         "(p < 0.01): on average the reward prefers the polar mask.")
    twice = pd.concat([live, pd.DataFrame([row("afa_strong_d", 0.5, 0.0)] * 2)])
    with pytest.raises(ValueError, match="2 rows match"):
        summary.probe_headline(twice)


def test_the_readmes_probe_calibration_numbers_are_the_probe_tables():
    import pandas as pd

    t = pd.read_csv(REPO / "results" / "paper" / "probe_table.csv")
    aa = t[t.comparison == "random_vs_random"]
    outside = int(((aa.share_low > 0.5) | (aa.share_high < 0.5)).sum())
    assert f"the share interval of {outside} of the {len(aa)} A/A rows, random" in " ".join((REPO / "docs" / "evaluations.md").read_text().split())


def test_the_readme_is_a_front_door_with_no_result_typed_by_hand():
    """At most about 250 lines; outside the generated blocks and the code, the only numbers are names,
    versions, the paper's own and settings (each checked here): a result there is a test failure."""
    import yaml

    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    prose = re.sub(r"```.*?```", "", re.sub(r"<!-- ([a-z-]+) -->.*?<!-- /\1 -->", "", text, flags=re.S), flags=re.S)
    numbers = set(re.findall(r"(?<![\w.])\d+(?:[.,]\d+)*", prose))
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    allowed = {"2512.20661", "2.13.0",           # the paper's arXiv id; the torch pin of both commands
               "12.6",                           # the paper's LLM claim, quoted
               "95", "0", "1", "2",              # the interval's level; "against 0"; `1 - D`; SST-2, GPT-2
               str(len(paper["seeds"])),         # "full datasets, 5 seeds" (config/paper.yaml)
               "512"}                            # ERASER's 512-token encoder, the claims table's not-testable reason
    assert numbers <= allowed, f"numbers typed into the README's prose: {sorted(numbers - allowed)}"


def test_the_statistics_pages_examples_are_the_signal_studys():
    import pandas as pd

    from afa import summary

    page = (REPO / "docs" / "statistics.md").read_text()
    signal = pd.read_csv(REPO / "results" / "studies" / "signal" / "signal_health.csv")
    assert summary.fill_blocks(page, {"signal-examples": summary.signal_examples(signal)}) == page


def test_the_sst2_recipe_in_the_claims_config_is_the_one_validation_chose():
    """config/sst2_recipe.yaml's rule applied to its runs (results/studies/sst2_recipe/signal_health.csv)
    picks a candidate; config/claims.yaml's SST-2 from-scratch model is that candidate's settings."""
    import pandas as pd
    import yaml

    from afa import summary

    overlay = yaml.safe_load((REPO / "config" / "sst2_recipe.yaml").read_text())
    table = pd.read_csv(REPO / "results" / "studies" / "sst2_recipe" / "signal_health.csv")
    pick, means = summary.recipe_choice(table, overlay["models"])
    assert len(table) == 6 * len(overlay["models"])  # every run of the rule is in
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())["model_settings"]["scratch"]
    claims = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())
    sst2 = {**paper, **claims["model_overrides"]["sst2"]["scratch"]}
    assert sst2 == overlay["model_settings"][pick], (pick, means.round(2).to_dict())
    assert claims["model_overrides"].get("imdb") is None  # IMDB keeps its own recipe's model


def test_the_paper_exact_target_is_the_one_its_recipe_search_chose():
    """config/sst2_exact_recipe.yaml's rule (the 2-layer search's, on 2 runs a candidate) applied to its
    runs picks a candidate; config/paper.yaml's `scratch_exact`, with claims.yaml's SST-2 override if
    any, is that candidate's settings."""
    import pandas as pd
    import yaml

    from afa import summary

    overlay = yaml.safe_load((REPO / "config" / "sst2_exact_recipe.yaml").read_text())
    table = pd.read_csv(REPO / "results" / "studies" / "sst2_exact_recipe" / "signal_health.csv")
    assert len(table) == 2 * len(overlay["models"])  # baseline and afa_exact per candidate
    pick, means = summary.recipe_choice(table, overlay["models"])
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())["model_settings"]["scratch_exact"]
    claims = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())
    override = ((claims.get("model_overrides") or {}).get("sst2") or {}).get("scratch_exact") or {}
    assert {**paper, **override} == overlay["model_settings"][pick], (pick, means.round(2).to_dict())


def test_the_paper_exact_columns_imdb_reason_is_the_measured_cost():
    """claims.column_not_testable's afa_exact/imdb reason quotes the IMDB step benchmark and the live
    IMDB run's step count; its hours are their product."""
    import json

    import yaml

    why = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())["claims"]["column_not_testable"]["afa_exact"]["imdb"]
    bench = (REPO / "results" / "benchmarks" / "step_cost_imdb_exact.txt").read_text()
    base_ms, afa_ms, ratio = map(float, re.search(r"baseline ([0-9.]+) ms\s+AFA ([0-9.]+) ms\s+ratio ([0-9.]+)", bench).groups())
    steps = json.loads((REPO / "results/paper/models/imdb/scratch/afa/seed1/train_metrics.json").read_text())["steps"]
    assert f"{ratio:.2f}x" in why and f"{afa_ms / 1000:.1f} s against {base_ms / 1000:.1f} s" in why
    assert f"{steps:,} steps" in why and f"about {round(steps * afa_ms / 3.6e6)} hours" in why


def test_the_strong_d_columns_imdb_reason_is_the_studys_reading():
    """claims.column_not_testable's afa_strong_d/imdb reason quotes the study's imdb/d64/refill reading
    (the column's D, trained as its warm-up trains it) at 400 updates and K 3, which fails the bar's screen."""
    import yaml

    from afa.evaluation.disc_study import BAR
    from afa.tables import disc_study_table

    why = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())["claims"]["column_not_testable"]["afa_strong_d"]["imdb"]
    files = sorted(str(f) for f in (REPO / "results/discriminator/eval/disc_study/imdb/scratch/d64/refill/uniform").glob("seed[123].json"))
    assert len(files) == 3
    _, table = disc_study_table(files)
    (r,) = table[(table.group == "all") & (table.K == 3) & (table.steps == 400)].itertuples()
    low, high = BAR["acc"]
    assert not r.screened_in and not low <= r.disc_acc <= high
    assert f"(the bar: {low}-{high})" in why and f"(the bar: above {BAR['d']})" in why
    assert f"accuracy {r.disc_acc:.3f}" in why
    assert f"{r.polar_vs_neutral_d:+.2f} [{r.polar_vs_neutral_d_low:+.2f}, {r.polar_vs_neutral_d_high:+.2f}]" in why


def test_the_discriminator_studys_sentences_count_the_screen_the_confirmation_and_name_the_gaps():
    import pandas as pd

    from afa import summary

    def row(variant, masking, d, screened=False, meets=False, steps=400, group="all", K=3, stage="screen", seeds=3):
        return {"dataset": "sst2", "variant": variant, "masking": masking, "policy": "uniform", "steps": steps,
                "stage": stage, "group": group, "K": K, "seeds": seeds, "polar_vs_neutral_d": d,
                "polar_vs_neutral_d_low": d - 0.2, "polar_vs_neutral_d_high": d + 0.2,
                "p_holm": 0.01 if meets else 1.0 if stage == "confirm" else float("nan"), "screened_in": screened,
                "meets_bar": meets, "not_testable": float("nan")}

    screen = [row("d64", "delete", 0.1), row("d64", "delete", 0.4, True, steps=1000), row("l3", "replace", 0.5, True),
              row("l3", "replace", 0.9, K=1), row("l3", "replace", 0.8, group="below_max_length"),
              {"dataset": "imdb", "variant": "w512", "meets_bar": False, "not_testable": "80 min a cell"}]
    text = summary.disc_headline(pd.DataFrame(screen))
    assert "2 cells of D variant (d64, l3) x masking (delete, replace) on SST-2, 3 seeds each, 3 readings" in text
    assert "2 pass the screen (d64, delete, SST-2, 1000 updates; l3, replace, SST-2, 400 updates)." in text
    assert "2 of the readings screened in have no new seeds yet: no verdict on them." in text
    # the largest effect among the screen's readings: not another K's or a length group's
    assert "The largest effect on the screen's seeds is +0.50 [+0.30, +0.70] (l3, replace, SST-2, 400 updates)" in text
    assert text.endswith("Not testable here: IMDB w512 (the table gives each cost).")
    confirmed = screen + [row("l3", "replace", 0.6, meets=True, stage="confirm", seeds=5),
                          row("l3", "replace", 2.0, meets=True, stage="confirm", seeds=5, K=1)]
    text = summary.disc_headline(pd.DataFrame(confirmed))
    assert ("On the new seeds (5 per reading), 1 meets the bar: l3, replace, SST-2, 400 updates +0.60 [+0.40, +0.80], "
            "Holm p 0.01. 1 of the readings screened in have no new seeds yet") in text
    assert "0 meet the bar" in summary.disc_headline(pd.DataFrame(confirmed).assign(meets_bar=False))


def test_the_confirmation_trains_exactly_the_cells_the_screen_let_through():
    """config/disc_study.yaml's confirm.cells, written by hand, are the screen's on the committed cells."""
    from afa import config_check
    from afa.runs import RunTable
    from afa.tables import disc_study_table

    runs = RunTable(config_check.check([REPO / f"config/{n}.yaml" for n in ("paper", "mirror", "claims", "disc_study")]))
    stages = runs.disc_study_stages()
    files = [f for c in runs.disc_study() if c.seed in stages["screen"]
             for f in [REPO / "results/discriminator/eval/disc_study/{dataset}/{model}/{variant}/{masking}/{policy}/seed{seed}.json"
                       .format(**c.fields())] if f.exists()]
    assert len(files) >= 26  # the SST-2 cells committed when the screen chose its cells
    _, table = disc_study_table([str(f) for f in files], stages["confirm"])
    screened = {f"{r.dataset}/{r.variant}/{r.masking}/{r.policy}" for r in table[table.screened_in].itertuples()}
    assert screened == set(runs.config["disc_study"]["confirm"]["cells"])


def test_every_objective_sha_grouped_as_the_same_objective_has_its_evidence():
    """claims.same_objective lets runs of different code share a claims row; each sha it groups must be
    backed by byte-identical runs recorded in results/paper/same_objective.txt, and each record there by
    a group entry (a sha added to one and not the other fails)."""
    import yaml
    groups = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())["claims"]["same_objective"]
    grouped = {sha for group in groups for sha in group}
    evidence = (REPO / "results" / "paper" / "same_objective.txt").read_text()
    # each record opens "# Evidence for adding <sha> [and <sha>] (date, session): ..."
    recorded = {sha for line in re.findall(r"^# Evidence for .*$", evidence, re.M)
                for sha in re.findall(r"\b[0-9a-f]{16}\b", line)}
    assert grouped - recorded == set()
    assert recorded - grouped == set()
