"""The datasets of `npm run bench:study`, as CSV files a client would upload.

The same fixtures as `npm run bench:quality` (bench/quality/sklearn_baseline.py's `load`): the
raw features (no split, no scaling: the study's own testSplit and standard scaling do that, as
for any user) and the target, class labels as `c<k>` so the upload types the column categorical.
Run with Debian's python3-sklearn: /usr/bin/python3 bench/study/datasets.py OUT NAME[,NAME...]
Prints a JSON list of {name, task, rows, features, classes, file}.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "quality"))
from sklearn_baseline import load  # noqa: E402


def main():
    out_dir = sys.argv[1]
    names = sys.argv[2].split(",")
    fixtures = load()
    written = []
    for name in names:
        if name not in fixtures:
            raise SystemExit(f"unknown dataset {name}; known: {', '.join(fixtures)}")
        X, y, task, _kind = fixtures[name]
        path = os.path.join(out_dir, f"{name}.csv")
        with open(path, "w") as f:
            f.write(",".join([f"x{j}" for j in range(X.shape[1])] + ["target"]) + "\n")
            for row, target in zip(X, y):
                label = f"c{int(target)}" if task == "classification" else repr(float(target))
                f.write(",".join(repr(float(v)) for v in row) + "," + label + "\n")
        written.append({
            "name": name, "task": task, "rows": int(X.shape[0]), "features": int(X.shape[1]),
            "classes": int(len(set(y.tolist()))) if task == "classification" else 0, "file": path,
        })
    print(json.dumps(written))


if __name__ == "__main__":
    main()
