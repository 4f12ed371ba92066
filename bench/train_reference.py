#!/usr/bin/python3
"""The Python PyTorch reference of wmtp's training loop, for scripts/bench.

What a user would write: nn.Module DLinear (moving average with replicate padding, seasonal and
trend nn.Linear heads) and DLinear-VQ (patch encoder, EMA codebook, straight-through quantizer,
commitment loss), autograd, torch.optim.Adam, the recipe's weighted MSE; a validation pass at the
end of every epoch, as wmtp's trainer does. Run it with Debian's python3-torch (/usr/bin/python3),
the same LibTorch as wmtp's.

It reads a parity dump of `wmtp_trainer_bench --dump DIR` (the series, window starts, initial
parameters, batch order and wmtp's first losses) and either
  --check        replays the dumped steps from the same initial weights and batches and compares
                 the loss curve with wmtp's (exit 1 when it differs by more than --tolerance), or
  --time         times --reps repetitions of about --samples samples after 20 warm-up steps,
  --serve        the same, one repetition per line read from stdin (scripts/bench alternates them
                 with wmtp's, so that a shared machine's load drifts hit both sides alike).
Each mode prints one JSON object per line.
"""
import argparse
import json
import math
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LAPLACE = 1e-5
WARMUP_STEPS = 20
SPIN_UP_S = 0.2


def moving_average(x, kernel):
    """LTSF-Linear's series_decomp trend: average pool over the window, ends replicated."""
    pad = (kernel - 1) // 2
    padded = torch.cat([x[:, :1].expand(-1, pad), x, x[:, -1:].expand(-1, pad)], dim=1)
    return F.avg_pool1d(padded.unsqueeze(1), kernel, stride=1).squeeze(1)


def linear(n_in, n_out, gen):
    """nn.Linear with its default init's distribution, drawn from the run's generator."""
    layer = nn.Linear(n_in, n_out)
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=gen)
        layer.bias.uniform_(-bound, bound, generator=gen)
    return layer


class DLinear(nn.Module):
    def __init__(self, recipe, gen):
        super().__init__()
        L, P = recipe["window"]["seq_len"], recipe["window"]["pred_len"]
        self.kernel = recipe["model"]["moving_avg"]
        self.seasonal = linear(L, P, gen)
        self.trend = linear(L, P, gen)

    def forward(self, x):
        trend = moving_average(x, self.kernel)
        return self.seasonal(x - trend) + self.trend(trend), None

    def after_step(self):
        pass

    def end_epoch(self):
        return {}


class EmaCodebook(nn.Module):
    """Codes follow the mean of their assigned encoder outputs by EMA; dead codes restart."""

    def __init__(self, spec, gen):
        super().__init__()
        self.spec, self.gen = spec, gen
        codes = torch.empty(spec["codebook_size"], spec["code_dim"]).normal_(0.0, 1.0, generator=gen)
        self.register_buffer("codes", codes)
        self.register_buffer("ema_count", torch.zeros(spec["codebook_size"]))
        self.register_buffer("ema_sum", codes.clone())
        self.register_buffer("epoch_counts", torch.zeros(spec["codebook_size"]))

    def assign(self, z):
        return torch.addmm(self.codes.square().sum(1), z, self.codes.t(), beta=1, alpha=-2).argmin(1)

    @torch.no_grad()
    def update(self, z, idx):
        K = self.codes.size(0)
        counts = torch.zeros(K, device=z.device).index_add_(0, idx, torch.ones(idx.size(0), device=z.device))
        sums = torch.zeros_like(self.codes).index_add_(0, idx, z)
        decay = self.spec["ema_decay"]
        self.ema_count.mul_(decay).add_(counts, alpha=1 - decay)
        self.ema_sum.mul_(decay).add_(sums, alpha=1 - decay)
        n = self.ema_count.sum()
        smoothed = (self.ema_count + LAPLACE) / (n + K * LAPLACE) * n
        self.codes.copy_(self.ema_sum / smoothed.unsqueeze(1))
        if K <= z.size(0):
            pick = torch.randperm(z.size(0), generator=self.gen)[:K]
        else:
            pick = torch.randint(z.size(0), (K,), generator=self.gen)
        candidates = z[pick]
        dead = self.ema_count < self.spec["dead_code_threshold"]
        self.codes.copy_(torch.where(dead.unsqueeze(1), candidates, self.codes))
        self.ema_sum.copy_(torch.where(dead.unsqueeze(1), candidates, self.ema_sum))
        self.ema_count.copy_(torch.where(dead, torch.ones_like(self.ema_count), self.ema_count))
        self.epoch_counts.add_(counts)

    def end_epoch(self):
        counts = self.epoch_counts.double()
        total = counts.sum().item()
        p = counts[counts > 0] / total
        metrics = {"codebook_util": (counts > 0).sum().item() / counts.numel(),
                   "codebook_perplexity": math.exp(-(p * p.log()).sum().item()) if total > 0 else 0.0}
        self.epoch_counts.zero_()
        return metrics


class DLinearVQ(nn.Module):
    def __init__(self, recipe, gen):
        super().__init__()
        vq = recipe["model"]["vq"]
        L, P = recipe["window"]["seq_len"], recipe["window"]["pred_len"]
        self.kernel = recipe["model"]["moving_avg"]
        self.patch, self.n_patches, self.dim, self.beta = vq["patch_len"], L // vq["patch_len"], vq["code_dim"], vq["beta"]
        self.encoder = linear(self.patch, self.dim, gen)
        self.seasonal = linear(self.n_patches * self.dim, P, gen)
        self.trend = linear(L, P, gen)
        self.codebook = EmaCodebook(vq, gen)

    def forward(self, x):
        b = x.size(0)
        trend = moving_average(x, self.kernel)
        z = self.encoder((x - trend).reshape(b * self.n_patches, self.patch))
        idx = self.codebook.assign(z.detach())
        q = self.codebook.codes.index_select(0, idx)
        zq = z + (q - z).detach()
        yhat = self.seasonal(zq.reshape(b, self.n_patches * self.dim)) + self.trend(trend)
        self._aux = (z.detach(), idx)
        return yhat, self.beta * (z - q).pow(2).mean()

    def after_step(self):
        self.codebook.update(*self._aux)

    def end_epoch(self):
        return self.codebook.end_epoch()


MODELS = {"dlinear": DLinear, "dlinear-vq": DLinearVQ}


def scale_clip_to_mean_one(w, eps, w_max, tol=1e-12):
    """clamp(s * w, eps, w_max) with the scale s that makes its mean 1 (safeguarded Newton on s)."""
    n = w.numel()

    def mean_and_slope(s):
        v = s * w
        inside = (v > eps) & (v < w_max)
        return v.clamp(eps, w_max).mean().item(), (w * inside).sum().item() / n

    positive = w > 0
    if torch.where(positive, w_max, eps).mean().item() >= 1.0 - tol:
        lo, hi, s = 0.0, w_max / w[positive].min().item(), 1.0
        f, slope = mean_and_slope(s)
        for _ in range(200):
            if abs(f - 1.0) <= tol:
                break
            if f < 1.0:
                lo = s
            else:
                hi = s
            nxt = s + (1.0 - f) / slope if slope > 0 else math.nan
            s = nxt if lo < nxt < hi else 0.5 * (lo + hi)
            f, slope = mean_and_slope(s)
        return (s * w).clamp(eps, w_max)
    w = w.clamp(eps, w_max)
    for _ in range(100000):
        m = w.mean().item()
        if abs(m - 1.0) <= tol:
            break
        w = (w / m).clamp(eps, w_max)
    return w


def peak_excess_weights(yhat, y, naive, spec):
    """w = B*P softmax(zscore(excess) / T), clipped to [eps, w_max] at mean 1; constants of the step."""
    f, t, r = yhat.double(), y.double(), naive.double()
    excess = ((f - t).square() - (r - t).square()).abs()  # |err_model - err_ref| (Rho-1)
    mean = excess.mean()
    sd = (excess - mean).square().mean().sqrt().item()
    z = (excess - mean) / sd / spec["temperature"] if sd > 1e-12 else torch.zeros_like(excess)
    w = torch.softmax(z.flatten(), 0).mul_(z.numel()).view_as(z)
    return scale_clip_to_mean_one(w, spec["eps"], spec["w_max"])


def make_weighting(spec):
    """(needs the seasonal-naive reference, weights(yhat, y, naive) or None for uniform)."""
    if spec["kind"] == "uniform":
        return False, lambda yhat, y, naive: None
    if spec["kind"] == "peak-excess":
        return True, lambda yhat, y, naive: peak_excess_weights(yhat, y, naive, spec)
    raise SystemExit(f"train_reference.py: weighting {spec['kind']} is not mirrored here")


def weighted_mse(yhat, y, w):
    sq = (yhat - y).pow(2)
    return sq.mean() if w is None else (w.float() * sq).mean()


class Windows:
    """The windows of a split as wmtp cuts them: float32 rows of seq_len inputs, pred_len targets."""

    def __init__(self, series, starts, L, P, period):
        rows = series.unfold(0, L + P, 1).index_select(0, torch.tensor(starts, dtype=torch.long))
        self.x = rows[:, :L].contiguous()
        self.y = rows[:, L:].contiguous()
        back = [L - period * ((h + period) // period) + h for h in range(P)]
        self.naive = self.x[:, back].contiguous()


class Run:
    """One training run: model, Adam, the run's generator and the epoch loop of wmtp's trainer."""

    def __init__(self, dump):
        recipe = dump["recipe"]
        L, P = recipe["window"]["seq_len"], recipe["window"]["pred_len"]
        series = torch.tensor(dump["standardized"], dtype=torch.float64).float()
        self.train = Windows(series, dump["train_starts"], L, P, dump["seasonal_period"])
        self.val = Windows(series, dump["val_starts"], L, P, dump["seasonal_period"])
        self.gen = torch.Generator().manual_seed(dump["seed"])
        self.model = MODELS[recipe["model"]["kind"]](recipe, self.gen)
        opt = recipe["optimizer"]
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=opt["lr"],
                                          betas=(opt["beta1"], opt["beta2"]), eps=opt["eps"])
        self.needs_naive, self.weights = make_weighting(recipe["weighting"])
        self.batch = dump["batch"]
        self.steps_per_epoch = self.train.x.size(0) // self.batch
        self.step_in_epoch = 0
        self.perm = None
        self.perms, self.losses, self.val_losses = [], [], []

    def step(self):
        if self.perm is None:
            self.perm = torch.randperm(self.train.x.size(0), generator=self.gen)
            self.perms.append(self.perm)
        rows = self.perm[self.step_in_epoch * self.batch:(self.step_in_epoch + 1) * self.batch]
        xb, yb = self.train.x[rows], self.train.y[rows]
        yhat, extra = self.model(xb)
        w = self.weights(yhat.detach(), yb, self.train.naive[rows] if self.needs_naive else None)
        loss = weighted_mse(yhat, yb, w)
        if extra is not None:
            loss = loss + extra
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.model.after_step()
        self.losses.append(loss.item())
        self.step_in_epoch += 1
        if self.step_in_epoch == self.steps_per_epoch:
            with torch.no_grad():
                self.val_losses.append((self.model(self.val.x)[0] - self.val.y).square().mean().item())
            self.model.end_epoch()
            self.step_in_epoch, self.perm = 0, None

    def steps(self, n):
        for _ in range(n):
            self.step()


def tensor_named(dump_param):
    return torch.tensor(dump_param["values"], dtype=torch.float64).float().view(dump_param["shape"])


def python_parameters(model):
    named = {name: p.detach() for name, p in model.named_parameters()}
    if isinstance(model, DLinearVQ):
        named["codebook"] = model.codebook.codes
    return named


def check(dump, tolerance):
    run = Run(dump)
    initial = python_parameters(run.model)
    params_equal = sorted(initial) == sorted(dump["initial_parameters"]) and all(
        torch.equal(initial[k], tensor_named(v)) for k, v in dump["initial_parameters"].items())
    steps = len(dump["loss"])
    run.steps(steps)
    perms_equal = len(run.perms) == len(dump["epoch_permutations"]) and all(
        p.tolist() == q for p, q in zip(run.perms, dump["epoch_permutations"]))
    rel = [abs(a - b) / abs(b) for a, b in zip(run.losses, dump["loss"])]
    worst = max(range(steps), key=lambda i: rel[i])
    return {"recipe": dump["recipe"]["name"], "model": dump["recipe"]["model"]["kind"], "batch": dump["batch"],
            "steps": steps, "initial_parameters_equal": params_equal, "batch_order_equal": perms_equal,
            "max_rel_diff": rel[worst], "max_abs_diff": max(abs(a - b) for a, b in zip(run.losses, dump["loss"])),
            "worst_step": worst + 1, "tolerance": tolerance,
            "ok": params_equal and perms_equal and rel[worst] < tolerance}


def timed_rep(run, steps):
    begin = time.perf_counter()
    run.steps(steps)
    return steps * run.batch / (time.perf_counter() - begin)


def bench(dump, samples, reps, serve):
    run = Run(dump)
    steps = max(20, samples // run.batch)
    run.steps(WARMUP_STEPS)
    about = {"recipe": dump["recipe"]["name"], "model": dump["recipe"]["model"]["kind"], "batch": run.batch,
             "engine": "python", "steps_per_rep": steps, "blas": mapped_blas(), "torch": torch.__version__,
             "threads": torch.get_num_threads(),
             "config_blas": ", ".join(re.findall(r"(?:BLAS|LAPACK)_INFO=\w+", torch.__config__.show()))}
    if serve:  # driven by scripts/bench, which alternates repetitions with wmtp's
        # This process idles while the other runs: each repetition first trains a spare run for
        # SPIN_UP_S (untimed), so that the timed steps run on an awake core and stay those of an
        # uninterrupted run.
        spare = Run(dump)
        print(json.dumps(dict(about, ready=True)), flush=True)
        for _ in sys.stdin:
            spin = time.perf_counter()
            while time.perf_counter() - spin < SPIN_UP_S:
                spare.step()
            print(json.dumps({"samples_per_s": timed_rep(run, steps), "last_loss": run.losses[-1]}), flush=True)
        return None
    return dict(about, samples_per_s=[timed_rep(run, steps) for _ in range(reps)], last_loss=run.losses[-1])


def mapped_blas():
    """The BLAS libraries mapped into this process: which BLAS torch really calls."""
    with open("/proc/self/maps") as maps:
        paths = [line[line.index("/"):].strip() for line in maps if "/" in line]
    return sorted({p for p in paths if "blas" in p.rsplit("/", 2)[-2] + p.rsplit("/", 1)[-1]})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dumps", nargs="+", help="parity dumps of wmtp_trainer_bench --dump")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--time", action="store_true")
    mode.add_argument("--serve", action="store_true",
                      help="one dump: after the warm-up print a ready line, then time one repetition per stdin line")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="max relative loss difference (--check)")
    parser.add_argument("--samples", type=int, default=200000, help="samples per repetition (--time)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ok = True
    for path in args.dumps:
        with open(path) as f:
            dump = json.load(f)
        result = check(dump, args.tolerance) if args.check else bench(dump, args.samples, args.reps, args.serve)
        if result is not None:
            ok = ok and result.get("ok", True)
            print(json.dumps(result), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
