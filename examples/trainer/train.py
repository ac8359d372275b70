"""A small training job: fit a two-layer MLP to a fixed random regression problem.

Seeded, so two machines running the same image should print the same losses; `envcheck
fingerprint` measures how close they really are.
"""

from __future__ import annotations

import argparse

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    torch.manual_seed(0)
    device = torch.device(args.device)
    inputs = torch.randn(4096, 64, device=device)
    weights = torch.randn(64, 1, device=device)
    targets = inputs @ weights + 0.01 * torch.randn(4096, 1, device=device)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 1)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for step in range(1, args.steps + 1):
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        if step % 50 == 0:
            print(f"step {step:4d}  loss {loss.item():.6f}  on {device}")


if __name__ == "__main__":
    main()
