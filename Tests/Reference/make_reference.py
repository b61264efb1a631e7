#!/usr/bin/env python3
"""PyTorch reference for the VraplNN engine (run by hand; torch is not needed in CI).

Builds the DECODE-RAPL v4.1 model structure in PyTorch with the state_dict names of DESIGN.md
(encoder.cnn.*, encoder.mlp.*, power_head.network.*), at a reduced size so the fixture stays small
(4 features x 13 steps, channels [16, 32], latent 32, head [64, 32]; 13 is odd so the max-pool drops
a position as in v4.1's 25 -> 12), with PyTorch's default initialisation from torch.manual_seed(0).
Dropout is built with p = 0 (identity), so the step is deterministic; the engine's own dropout is
tested separately. A batch of 8 windows, MSE loss, AdamW(lr 5e-4, weight decay 3e-4).

Writes Tests/Fixtures/nn/reference_v41_small.safetensors with:
  architecture          (metadata, JSON in vrapl's `architecture` format)
  input [8, 52], target [8]
  output [8], latent [8, 32]       train-mode forward with the initial weights
  loss_mse, loss_l1, loss_huber    [1] each, on that output
  init/<name>, grad/<name>         initial parameters and buffers; MSE gradients of every parameter
  step1/<name>, step10/<name>      parameters and buffers after 1 and 10 AdamW steps on the same batch
  losses [10]                      loss before each of the 10 steps
  eval_output [8]                  eval-mode output after the 10 steps (running statistics)
num_batches_tracked is stored as float32.

Usage: python3 Tests/Reference/make_reference.py
"""
import json
import os
import sys

import torch
from torch import nn
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from v41_torch import Model  # noqa: E402

F, L, CHANNELS, K, POOL, LATENT, HEAD, DROPOUT = 4, 13, [16, 32], 5, 2, 32, [64, 32], 0.0
BATCH, LR, WD = 8, 5e-4, 3e-4


def state(model, prefix):
    return {f"{prefix}/{k}": v.detach().clone().float().contiguous() for k, v in model.state_dict().items()}


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = Model(F, L, CHANNELS, K, POOL, LATENT, HEAD, DROPOUT)
    model.train()
    x = torch.rand(BATCH, F * L)
    target = 20 + 60 * x.view(BATCH, F, L)[:, 0, :3].mean(dim=1) + torch.randn(BATCH)
    tensors = {"input": x.clone(), "target": target.clone()}
    tensors.update(state(model, "init"))

    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WD)
    losses = []
    for step in range(10):
        opt.zero_grad()
        out, z = model.forward_with_latent(x)
        loss = nn.functional.mse_loss(out, target)
        if step == 0:
            tensors["output"] = out.detach().clone()
            tensors["latent"] = z.detach().clone()
            tensors["loss_mse"] = loss.detach().reshape(1).clone()
            tensors["loss_l1"] = nn.functional.l1_loss(out, target).detach().reshape(1)
            tensors["loss_huber"] = nn.functional.huber_loss(out, target, delta=1.0).detach().reshape(1)
        losses.append(loss.item())
        loss.backward()
        if step == 0:
            for name, p in model.named_parameters():
                tensors[f"grad/{name}"] = p.grad.detach().clone()
        opt.step()
        if step == 0:
            tensors.update(state(model, "step1"))
    tensors.update(state(model, "step10"))
    tensors["losses"] = torch.tensor(losses, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        tensors["eval_output"] = model(x).clone()

    architecture = {"kind": "cnn1d", "num_features": F, "sequence_length": L, "cnn_channels": CHANNELS,
                    "cnn_kernel_size": K, "pool_size": POOL, "use_batch_norm": True, "latent_dim": LATENT,
                    "power_head_layers": HEAD, "dropout": DROPOUT}
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = os.path.join(here, "..", "Fixtures", "nn", "reference_v41_small.safetensors")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, out_path,
              metadata={"architecture": json.dumps(architecture), "torch_version": torch.__version__,
                        "lr": str(LR), "weight_decay": str(WD), "loss": "mse"})
    print(f"wrote {out_path} ({os.path.getsize(out_path)} bytes); losses {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
