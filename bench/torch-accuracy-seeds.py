#!/usr/bin/env python3
"""PyTorch's test accuracy on the anchor's Fashion-MNIST recipe over several seeds.

Usage: torch-accuracy-seeds.py EPOCHS SEED [SEED ...]. One thread. Prints one JSON line with the
mean, min and max, as bench/engine.ts prints ours: one seed's accuracy after 5 epochs moves by
about a point, so recipes are compared by their spread over seeds, not one draw. The recipe is
the anchor's (../shared/anchors/torch_mlp.py): 784-256-128-10, ReLU, torch.nn.Linear's default
initialisation, Adam 1e-3, batch 64, reshuffled each epoch, cross-entropy.
"""
import gzip, json, struct, sys
import numpy as np
import torch

torch.set_num_threads(1)
D = "/usr/share/datasets/fashion-mnist/"


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        r, c = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, r * c)
    return np.frombuffer(data, np.uint8, offset=8)


xtr = torch.tensor(idx(D + "train-images-idx3-ubyte.gz"), dtype=torch.float32) / 255.0
ytr = torch.tensor(idx(D + "train-labels-idx1-ubyte.gz"), dtype=torch.long)
xte = torch.tensor(idx(D + "t10k-images-idx3-ubyte.gz"), dtype=torch.float32) / 255.0
yte = torch.tensor(idx(D + "t10k-labels-idx1-ubyte.gz"), dtype=torch.long)

epochs = int(sys.argv[1])
seeds = [int(s) for s in sys.argv[2:]]
accs = []
for seed in seeds:
    torch.manual_seed(seed)
    m = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        perm = torch.randperm(60000)
        for i in range(0, 60000, 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            lossf(m(xtr[b]), ytr[b]).backward()
            opt.step()
    with torch.no_grad():
        accs.append((m(xte).argmax(1) == yte).float().mean().item())
print(json.dumps({"case": "fmnist-784-256-128-10-accuracy-seeds", "epochs": epochs,
                  "seeds": " ".join(map(str, seeds)),
                  "test_acc_mean": round(sum(accs) / len(accs), 4),
                  "test_acc_min": round(min(accs), 4), "test_acc_max": round(max(accs), 4),
                  "test_accs": " ".join(f"{a:.4f}" for a in accs)}))
