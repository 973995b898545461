"""Reference side of benchmarks/forest.bench.ts: scikit-learn's RandomForestClassifier on the same
split (binary files written by the benchmark), with n_jobs=1 and all cores. Prints one JSON object.
Run by the benchmark with /usr/bin/python3 (Debian python3-sklearn)."""
import json
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score

work, features, trees, seed, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
xtr = np.fromfile(os.path.join(work, "xtr.f64"), dtype=np.float64).reshape(-1, features)
ytr = np.fromfile(os.path.join(work, "ytr.u8"), dtype=np.uint8)
xte = np.fromfile(os.path.join(work, "xte.f64"), dtype=np.float64).reshape(-1, features)
yte = np.fromfile(os.path.join(work, "yte.u8"), dtype=np.uint8)
out = {"sklearn": sklearn.__version__, "numpy": np.__version__, "cores": os.cpu_count()}
jobs_list = [int(j) for j in sys.argv[6].split(",")] if len(sys.argv) > 6 else [1, -1]
for jobs in jobs_list:
    model = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=jobs, max_features="sqrt", bootstrap=True)
    # One job: process CPU time (the machine is shared); all cores: wall time.
    clock = time.process_time if jobs == 1 else time.perf_counter
    t0 = clock()
    model.fit(xtr, ytr)
    train = clock() - t0
    # Prediction: CPU and wall time of every repetition (best and median reported), after one
    # untimed prediction (the benchmark warms every engine before timing it).
    model.predict(xte)
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        pred = model.predict(xte)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    best = min(cpu) if jobs == 1 else min(wall)
    n = len(xte)
    key = "jobs1" if jobs == 1 else "jobsAll"
    out[key] = {
        "trainSeconds": train,
        "predictRowsPerSecond": n / best,
        "predict": {
            "cpuBest": n / min(cpu),
            "cpuMedian": n / float(np.median(cpu)),
            "wallBest": n / min(wall),
            "wallMedian": n / float(np.median(wall)),
        },
        "accuracy": accuracy_score(yte, pred),
        "macroF1": f1_score(yte, pred, average="macro"),
        "nodes": int(sum(e.tree_.node_count for e in model.estimators_)),
    }
print(json.dumps(out))
