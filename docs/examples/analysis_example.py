"""Answer two questions about the runs of `make run` with muie_bench.analysis (README example)."""

import pandas as pd

from muie_bench.analysis import instances_df, per_type_df

pd.set_option("display.width", 120)

# 1. EA by event type across systems: argument counts summed per event type, then F1
pt = per_type_df("results/runs")
ea = pt[pt["metric"] == "ea"].assign(event=lambda d: d["label"].str.split("/").str[0])
sums = ea.groupby(["system", "event"])[["tp", "predicted", "gold"]].sum()
sums["EA"] = (200 * sums["tp"] / (sums["predicted"] + sums["gold"])).round(1)
print(sums["EA"].unstack("system").fillna(0.0))

# 2. the instances where system B (oracle) beats system A (pipeline-offline) on I-Seg
inst = instances_df("results/runs")
iseg = inst.pivot_table(index="id", columns="system", values="i_seg")
worse = iseg[iseg["oracle"] > iseg["pipeline-offline"]]
print(f"{len(worse)} of {len(iseg)} instances with I-Seg: oracle > pipeline-offline; the 5 largest gaps:")
gap = (worse["oracle"] - worse["pipeline-offline"]).sort_values(ascending=False)
print(gap.head(5).round(3).to_string())
