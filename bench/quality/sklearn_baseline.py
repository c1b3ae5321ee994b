"""The datasets of `npm run bench:quality` and scikit-learn's MLP defaults on them.

Writes one JSON file per dataset into the directory given: the train/test split (stratified for
classification, random_state 0), the features standard-scaled on the training rows (and, for
regression, the target too: R^2 does not depend on it, and both models then see the same
numbers), and the test score of MLPClassifier / MLPRegressor with every default, for each seed.
Run with Debian's python3-sklearn: /usr/bin/python3 bench/quality/sklearn_baseline.py OUT SEEDS
"""
import json
import sys
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def load():
    """name -> (X, y, task, kind). Bundled sets first, then generated ones (fixed seeds)."""
    out = {}
    for name, loader in [("iris", datasets.load_iris), ("wine", datasets.load_wine),
                         ("breast_cancer", datasets.load_breast_cancer),
                         ("digits", datasets.load_digits)]:
        d = loader()
        out[name] = (d.data, d.target, "classification", "bundled")
    d = datasets.load_diabetes()
    out["diabetes"] = (d.data, d.target, "regression", "bundled")
    X, y = datasets.make_friedman1(n_samples=3000, noise=1.0, random_state=1)
    out["friedman1"] = (X, y, "regression", "generated")
    X, y = datasets.make_classification(n_samples=4000, n_features=20, n_informative=8,
                                        n_redundant=4, weights=[0.8, 0.2], flip_y=0.02,
                                        class_sep=0.8, random_state=2)
    out["imbalanced"] = (X, y, "classification", "generated")
    X, y = datasets.make_moons(n_samples=2000, noise=0.3, random_state=3)
    out["moons"] = (X, y, "classification", "generated")
    X, y = datasets.make_classification(n_samples=100_000, n_features=20, n_informative=10,
                                        n_redundant=5, n_classes=3, class_sep=0.7,
                                        random_state=4)
    out["large100k"] = (X, y, "classification", "generated")
    return out


def main():
    out_dir = sys.argv[1]
    seeds = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [0, 1, 2]
    only = set(sys.argv[3].split(",")) if len(sys.argv) > 3 and sys.argv[3] else None
    names = []
    for name, (X, y, task, kind) in load().items():
        if only and name not in only:
            continue
        strat = y if task == "classification" else None
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=strat)
        scaler = StandardScaler().fit(Xtr)
        Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
        if task == "regression":
            mu, sd = ytr.mean(), ytr.std()
            ytr, yte = (ytr - mu) / sd, (yte - mu) / sd
        runs = []
        model_seeds = seeds if len(X) <= 20_000 else seeds[:1]
        for seed in model_seeds:
            model = (MLPClassifier if task == "classification" else MLPRegressor)(random_state=seed)
            started = time.perf_counter()
            model.fit(Xtr, ytr)
            seconds = time.perf_counter() - started
            runs.append({"seed": seed, "score": float(model.score(Xte, yte)), "seconds": seconds})
        payload = {
            "name": name, "task": task, "kind": kind,
            "classes": int(len(np.unique(y))) if task == "classification" else 0,
            "xTrain": Xtr.astype(np.float32).ravel().tolist(), "yTrain": ytr.tolist(),
            "xTest": Xte.astype(np.float32).ravel().tolist(), "yTest": yte.tolist(),
            "features": int(X.shape[1]), "sklearn": runs,
        }
        with open(f"{out_dir}/{name}.json", "w") as f:
            json.dump(payload, f)
        names.append(name)
        print(f"{name}: sklearn {np.mean([r['score'] for r in runs]):.4f}", file=sys.stderr, flush=True)
    print(json.dumps(names))


if __name__ == "__main__":
    main()
