"""The datasets of `npm run bench:study`, as files a client would send.

The same fixtures and the same split as `npm run bench:quality` (bench/quality/
sklearn_baseline.py: `load`, then 75/25, stratified for classification, random_state 0). The
75% is written as a CSV to upload (raw features, no scaling: the study's own test split and
standard scaling do that, as for any user); class labels are written `c<k>` so the upload types
the column categorical. The 25% is a JSON holdout ({inputs, targets}) that no trial of any study
trains, validates or is evaluated on: every study's winner is scored on the same rows.
Run with Debian's python3-sklearn: /usr/bin/python3 bench/study/datasets.py OUT NAME[,NAME...]
Prints a JSON list of {name, task, rows, features, classes, csv, holdout}.
"""
import json
import os
import sys

from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "quality"))
from sklearn_baseline import load  # noqa: E402


def label(task, target):
    return f"c{int(target)}" if task == "classification" else float(target)


def main():
    out_dir = sys.argv[1]
    names = sys.argv[2].split(",")
    fixtures = load()
    written = []
    for name in names:
        if name not in fixtures:
            raise SystemExit(f"unknown dataset {name}; known: {', '.join(fixtures)}")
        X, y, task, _kind = fixtures[name]
        strat = y if task == "classification" else None
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=strat)
        csv = os.path.join(out_dir, f"{name}.csv")
        with open(csv, "w") as f:
            f.write(",".join([f"x{j}" for j in range(X.shape[1])] + ["target"]) + "\n")
            for row, target in zip(Xtr, ytr):
                f.write(",".join(repr(float(v)) for v in row) + f",{label(task, target)}\n")
        holdout = os.path.join(out_dir, f"{name}.holdout.json")
        with open(holdout, "w") as f:
            json.dump({"inputs": Xte.tolist(), "targets": [label(task, t) for t in yte]}, f)
        written.append({
            "name": name, "task": task, "rows": int(Xtr.shape[0]), "features": int(X.shape[1]),
            "classes": int(len(set(y.tolist()))) if task == "classification" else 0,
            "csv": csv, "holdout": holdout,
        })
    print(json.dumps(written))


if __name__ == "__main__":
    main()
