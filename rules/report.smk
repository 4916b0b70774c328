# The run's final report (results/report/): Figure 1 (PLR vs ACC of every Table 1 approach), frame
# grids of the representations and recoveries, Table 2's per-class bars, and the run time per rule
# from the benchmark: files. Outputs flagged report() make `snakemake --report report.html` work.


rule report:
    input:
        # every final output, so that the run time covers the whole run (benchmarks of upstream jobs)
        finals=PLAN.report_inputs(),
        table1=f"{RES}/tables/table1.csv",
        table2=f"{RES}/tables/table2.csv",
        table3=f"{RES}/tables/table3.csv",
        table6=f"{RES}/tables/table6.csv",
        reps=[rep_clips(rep, "test") for rep in FRAME_REPS],
        recovered=lambda w: [rep_clips(f"recovered-{r}", "test") for r in table3_reps()],
    output:
        figure1=report(
            f"{RES}/report/figure1_privacy_utility.png",
            caption="../report/figure1.rst",
            category="Figures",
        ),
        per_class=report(
            f"{RES}/report/table2_per_class.png",
            caption="../report/per_class.rst",
            category="Figures",
        ),
        frames=report(
            f"{RES}/report/frames.png",
            caption="../report/frames.rst",
            category="Figures",
        ),
        runtime=report(
            f"{RES}/report/runtime.csv",
            caption="../report/runtime.rst",
            category="Run time",
        ),
        runtime_plot=report(
            f"{RES}/report/runtime.png",
            caption="../report/runtime.rst",
            category="Run time",
        ),
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        reps=FRAME_REPS,
        frame_grid=[(r.label, r.representation) for r in PLAN.frame_grid],
        recovered=table3_reps,
        clips=config["report"]["clips"],
        frames=config["report"]["frames"],
        benchmarks="benchmarks",  # benchmarks/{rule}/{wildcards}.tsv or benchmarks/{rule}.tsv
        stages=rule_stages(WORKFLOW_DIR / "Snakefile"),
    script:
        "../workflow_scripts/report.py"
