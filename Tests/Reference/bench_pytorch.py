#!/usr/bin/env python3
"""PyTorch CPU baseline for `vrapl bench train`: the same v4.1 model (4 features x 25 steps, channels
[32, 64], k 5, BatchNorm, pool 2, encoder MLP 768->128->64, head 64->128->64->1, dropout 0.3), batch 256,
MSE loss, AdamW(lr 5e-4, weight decay 3e-4), synthetic data, train mode. Also single-window inference
latency (eval, no_grad) and batch inference throughput. Prints one JSON object.

Usage: python3 Tests/Reference/bench_pytorch.py --threads 1 --seconds 5
"""
import argparse
import json
import time

import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from v41_torch import Model  # noqa: E402

F, L = 4, 25


def build(dropout=0.3):
    return Model(F, L, dropout=dropout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=3e-4)
    batches = 32
    x = torch.rand(batches, args.batch, F * L)
    y = torch.rand(batches, args.batch) * 100
    loss_fn = nn.MSELoss()

    def step(k):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[k % batches]), y[k % batches])
        loss.backward()
        opt.step()

    model.train()
    for k in range(5):
        step(k)
    start, k = time.perf_counter(), 0
    while time.perf_counter() - start < args.seconds:
        step(k)
        k += 1
    train_rate = k * args.batch / (time.perf_counter() - start)

    model.eval()
    with torch.no_grad():
        for k in range(3):
            model(x[k])
        start, k = time.perf_counter(), 0
        while time.perf_counter() - start < args.seconds / 2:
            model(x[k % batches])
            k += 1
        batch_rate = k * args.batch / (time.perf_counter() - start)
        windows = x.reshape(-1, F * L)
        for k in range(200):
            model(windows[k:k + 1])
        latencies, start, k = [], time.perf_counter(), 0
        while time.perf_counter() - start < args.seconds / 2 and k < 100000:
            t0 = time.perf_counter()
            model(windows[(k % 4096):(k % 4096) + 1])
            latencies.append(time.perf_counter() - t0)
            k += 1
    latencies.sort()
    print(json.dumps({
        "threads": args.threads,
        "train_samples_per_s": train_rate,
        "infer_batch_samples_per_s": batch_rate,
        "infer_latency_p50_us": latencies[len(latencies) // 2] * 1e6,
        "infer_latency_p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
