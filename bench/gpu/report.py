#!/usr/bin/env python3
"""The GPU table of bench/RESULTS.md from the JSON lines of run.sh (issue 7).

Reads the lines of wmtp_gpu_bench (--check: kind numerics; --time: kind wmtp) and of
eager_bench.py (kind device, kind python) from the files given, prints markdown.

Bandwidth floor of one training step: the bytes it must move through device memory once, over the
measured copy bandwidth. Per step: the batch's input and target rows (the reference forecast too
when the weighting reads it), parameters and both Adam moments read and written once, the codebook
and its EMA state read and written once, and the epoch's validation pass (val windows' inputs and
targets read once) shared among the epoch's steps. Gathered copies, gradients and activations are
not counted: a fully fused step keeps them on chip.
"""
import json
import sys

FLOAT = 4


def read_lines(paths):
    lines = []
    for path in paths:
        with open(path) as f:
            lines.extend(json.loads(line) for line in f if line.startswith("{"))
    return lines


def n_params(model, L, P, vq):
    if model == "dlinear":
        return 2 * L * P + 2 * P
    patch, dim = vq["patch_len"], vq["code_dim"]
    return patch * dim + dim + (L // patch) * dim * P + L * P + 2 * P


def floor_bytes(row, recipe):
    L, P, b = row["seq_len"], row["pred_len"], row["batch"]
    rows = b * (L + P + (P if row["weighting"] == "peak-excess" else 0)) * FLOAT
    vq = recipe.get("vq")
    params = 6 * n_params(row["model"], L, P, vq) * FLOAT
    codebook = 0
    if vq:
        codebook = 2 * (2 * vq["codebook_size"] * vq["code_dim"] + 2 * vq["codebook_size"]) * FLOAT
    val = row["val_windows"] * (L + P) * FLOAT / row["steps_per_epoch"]
    return rows + params + codebook + val


# The model blocks of configs/recipes (shapes only), so the script needs no build tree.
RECIPES = {
    "B0": {},
    "A3": {"vq": {"patch_len": 24, "codebook_size": 64, "code_dim": 16}},
}


def main(paths):
    lines = read_lines(paths)
    device = next((l for l in lines if l["kind"] == "device"), None)
    wmtp = [l for l in lines if l["kind"] == "wmtp"]
    python = {(l["recipe"], l["batch"]): l for l in lines if l["kind"] == "python"}
    numerics = [l for l in lines if l["kind"] == "numerics"]
    out = []
    if device:
        out.append(f"Device: **{device['name']}** ({device['sm_count']} SMs, {device['memory_gib']:.0f} GiB), "
                   f"torch {device['torch']}; measured copy bandwidth {device['copy_bandwidth_gbps']:.0f} GB/s "
                   "(1 GiB device-to-device copy, bytes read + written).")
        out.append("")
    if wmtp:
        compute = wmtp[0]["compute"]
        out.append(f"wmtp: {compute}. Median of {len(wmtp[0]['samples_per_s'])} repetitions after warm-up.")
        out.append("")
        out.append("| recipe | batch | engine | samples/s | us/step | Python eager samples/s | us/step | "
                   "wmtp / eager | floor bytes/step | floor us/step | us/step / floor |")
        out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in wmtp:
            py = python.get((row["recipe"], row["batch"]))
            fb = floor_bytes(row, RECIPES.get(row["recipe"], {}))
            floor_us = fb / (device["copy_bandwidth_gbps"] * 1e9) * 1e6 if device else float("nan")
            py_rate = f"{py['median_samples_per_s']:,.0f}" if py else "-"
            py_us = f"{py['us_per_step']:.1f}" if py else "-"
            ratio = f"{row['median_samples_per_s'] / py['median_samples_per_s']:.2f}x" if py else "-"
            out.append(f"| {row['recipe']} ({row['model']}) | {row['batch']} | {row['engine']} | "
                       f"{row['median_samples_per_s']:,.0f} | {row['us_per_step']:.1f} | {py_rate} | {py_us} | "
                       f"{ratio} | {fb / 1e6:.2f} MB | {floor_us:.2f} | {row['us_per_step'] / floor_us:.0f}x |")
        out.append("")
        out.append("Floor: the bytes a step must move once (the batch's input and target rows, plus the reference "
                   "rows for peak-excess; parameters and both Adam moments read and written; the codebook and its "
                   "EMA state; the epoch's validation pass shared among its steps) over the measured copy bandwidth.")
        out.append("")
        out.append(f"Data: household-01 of the synthetic households, {wmtp[0]['train_windows']} train and "
                   f"{wmtp[0]['val_windows']} val windows (seq_len {wmtp[0]['seq_len']}, pred_len "
                   f"{wmtp[0]['pred_len']}); every epoch ends with a validation pass, on both sides.")
        out.append("")
    if numerics:
        out.append("Numerics, cuda against cpu (fused engine, same seed and initial weights):")
        out.append("")
        out.append("| recipe | batch | steps | max abs loss diff | max rel loss diff | max abs param diff "
                   "(max abs param) | rtol | ok |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for n in numerics:
            out.append(f"| {n['recipe']} | {n['batch']} | {n['steps']} | {n['max_abs_loss_diff']:.2e} | "
                       f"{n['max_rel_loss_diff']:.2e} | {n['max_abs_param_diff']:.2e} ({n['max_abs_param']:.2f}) | "
                       f"{n['rtol']:.0e} | {'yes' if n['ok'] else 'NO'} |")
        out.append("")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
