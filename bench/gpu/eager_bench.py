#!/usr/bin/env python3
"""Python PyTorch eager on a GPU: the training loop of bench/train_reference.py on --device (issue 7).

What a user writes: nn.Module DLinear / DLinear-VQ (EMA codebook), autograd, torch.optim.Adam
(foreach, as PyTorch picks on CUDA), the recipe's weighted MSE, loss.item() every step and a
validation pass at the end of every epoch. The modules and the loop are train_reference.py's (the
same code the CPU benchmark times); this script moves them to the GPU and times them.

  --device-info   prints the GPU's name and its measured device-to-device copy bandwidth
  --grid-runs N   instead of the throughput: N whole runs one after another, as a Python loop over a
                  grid trains them (a fresh model and Adam per run from the dump's weights' recipe,
                  seeds seed, seed+1, ..., --grid-epochs epochs each with the validation passes):
                  seconds per run, to scale to the plan's size (issue 15's 1,000-run grid)
  DUMPS...        parity dumps of `wmtp_trainer_bench --dump DIR` (the same series, windows,
                  initial weights and batch order as wmtp's run): samples/s, median of --reps
                  repetitions of about --samples samples after warm-up.
One JSON object per line.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import train_reference  # noqa: E402  (bench/train_reference.py)

WARMUP_STEPS = 30


def device_info(device):
    """Name, and the bandwidth of a 1 GiB device-to-device copy counting bytes read plus written."""
    props = torch.cuda.get_device_properties(device)
    n = 1 << 28  # float32 elements: 1 GiB
    src = torch.randn(n, device=device)
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    times = []
    for _ in range(20):
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        dst.copy_(src)
        end.record()
        end.synchronize()
        times.append(begin.elapsed_time(end) / 1e3)
    seconds = statistics.median(times)
    return {"kind": "device", "name": props.name, "sm_count": props.multi_processor_count,
            "memory_gib": props.total_memory / 2**30, "torch": torch.__version__,
            "copy_bandwidth_gbps": 2 * src.numel() * src.element_size() / seconds / 1e9}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def to_device(run, device):
    """The run's windows and model on the device; the optimizer keeps the same parameter objects."""
    for split in (run.train, run.val):
        for name in ("x", "y", "naive"):
            setattr(split, name, getattr(split, name).to(device))
    run.model.to(device)
    return run


def bench(dump, device, samples, reps):
    run = to_device(train_reference.Run(dump), device)
    steps = max(20, samples // run.batch)
    run.steps(WARMUP_STEPS)
    sync(device)
    rates = []
    for _ in range(reps):
        begin = time.perf_counter()
        run.steps(steps)
        sync(device)
        rates.append(steps * run.batch / (time.perf_counter() - begin))
    mid = statistics.median(rates)
    return {"kind": "python", "recipe": dump["recipe"]["name"], "model": dump["recipe"]["model"]["kind"],
            "batch": run.batch, "engine": "python-eager", "steps_per_rep": steps, "samples_per_s": rates,
            "median_samples_per_s": mid, "us_per_step": run.batch / mid * 1e6, "last_loss": run.losses[-1],
            "foreach_adam": run.optimizer.defaults.get("foreach"), "torch": torch.__version__}


def grid(dump, device, runs, epochs):
    """Whole runs one after another: construction, data to the device, the epochs, a final sync.
    One more run before them is not timed: it pays the process's CUDA and cuBLAS start-up once."""
    seconds = []
    for i in range(-1, runs):
        sync(device)
        begin = time.perf_counter()
        run = to_device(train_reference.Run(dict(dump, seed=dump["seed"] + i)), device)
        run.steps(run.steps_per_epoch * epochs)
        sync(device)
        if i >= 0:
            seconds.append(time.perf_counter() - begin)
    return {"kind": "python-grid", "recipe": dump["recipe"]["name"], "batch": run.batch, "epochs": epochs,
            "steps_per_run": run.steps_per_epoch * epochs, "runs": runs, "seconds_per_run": seconds,
            "mean_s_per_run": statistics.mean(seconds), "median_s_per_run": statistics.median(seconds),
            "last_val_loss": run.val_losses[-1], "torch": torch.__version__}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dumps", nargs="*", help="parity dumps of wmtp_trainer_bench --dump")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--device-info", action="store_true")
    parser.add_argument("--samples", type=int, default=400000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--grid-runs", type=int, default=0)
    parser.add_argument("--grid-epochs", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.device_info:
        print(json.dumps(device_info(device)), flush=True)
    for path in args.dumps:
        with open(path) as f:
            dump = json.load(f)
        if args.grid_runs > 0:
            print(json.dumps(grid(dump, device, args.grid_runs, args.grid_epochs)), flush=True)
        else:
            print(json.dumps(bench(dump, device, args.samples, args.reps)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
