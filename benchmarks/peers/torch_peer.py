"""PyTorch peer benchmark: the lesson's MNIST network in plain eager PyTorch.

Run with the peer venv (benchmarks/setup_peers.sh), one process per measurement set:

    benchmarks/.venv-peers/bin/python benchmarks/peers/torch_peer.py --data DIR [--seed 0]
        [--parts epoch,target,infer] [--epochs-timing 3] [--epochs-target 15]
        [--batch-target 64] [--threads N] [--slice N] [--quick]

The network is nn.Sequential(Flatten, Linear(784, 256), ReLU, Linear(256, 10)) with PyTorch's
default initialisation, trained with CrossEntropyLoss on the logits (the same loss as Keras's
softmax + sparse categorical cross-entropy) and torch.optim.Adam(lr=1e-3). The data are read from
the four IDX .gz files in --data and made float32 /255 once, before any timing. Batches are
taken by a fresh random permutation of indices each epoch (no DataLoader, the fastest eager way).
torch.set_num_threads(--threads, default os.cpu_count()). On a shared machine this matters: with
2 OpenMP threads and the other core busy, each op waits at OpenMP barriers and a batch-32 step
was seen to take ~85 ms instead of ~1.5 ms; pass --threads 1 to measure one core.

Parts (--parts, comma-separated):
  epoch   seconds per epoch at batch 32 and at batch 128 (--epochs-timing epochs each, a fresh
          model per batch size; the median is reported beside the list).
  target  train at --batch-target until test accuracy >= 98.0% or --epochs-target epochs; the
          10,000 test images are evaluated after every epoch, and that evaluation is NOT counted:
          "seconds" is training time only. Batch 64 is the default: in a check over seeds 0, 1, 2
          (one thread) batch 32 needed 5, 8, 8 epochs at ~3.0 s each and batch 64 needed
          10, 8, 11 epochs at ~1.5 s each, so 64 reached 98% sooner in two seeds of three.
  infer   one forward pass over the 10,000 test images (median of --infer-runs runs, after one
          warm-up), and one image at a time (median over --single-calls calls), all under
          torch.inference_mode() with the model in eval mode. Uses the model trained by
          `target` when that part ran, else a fresh one (weights do not change the timing).

--slice N uses only the first N training images (a smoke run); --quick cuts every count down
(1 timing epoch, at most 2 target epochs, 3 batch and 50 single inference runs).

Prints one JSON object to stdout and nothing else (library chatter goes to stderr):
  framework            "pytorch"
  version              torch.__version__
  python               Python version
  threads              torch.get_num_threads() while training
  cpu_count            os.cpu_count()
  seed, train_images, test_images, parts, quick
  import_seconds       wall time of `import torch` inside this process (the runner measures the
                       cold `python -c "import torch"` time itself)
  epoch_seconds        {"32": [s, ...], "128": [s, ...]}   seconds of each timed epoch
  epoch_seconds_median {"32": s, "128": s}
  target               {"goal": 0.98, "batch_size", "max_epochs", "reached", "epoch" (1-based,
                       null if not reached), "seconds" (training seconds up to that epoch, or all
                       epochs if not reached), "epoch_seconds": [...], "test_accuracy": [...],
                       "timing": "training only; per-epoch test evaluation excluded"}
  infer                {"batch_10000_ms", "batch_runs", "single_ms_median", "single_ms_p90",
                       "single_calls", "method"}
  peak_rss_mb_after_training   ru_maxrss after the training parts, MB
  peak_rss_mb          ru_maxrss at the end, MB
  loadavg_start, loadavg_end   os.getloadavg() (1, 5, 15 min) before and after: the machine
                       may be shared, and a busy second core skews every figure
Keys of parts that did not run are absent.
"""

import time

_t0 = time.perf_counter()
import torch  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _t0

import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
from torch import nn  # noqa: E402

import mnist_files  # noqa: E402  (beside this script)
import record  # noqa: E402  (beside it too)
from record import finish, rss_mb, single_latencies  # noqa: E402

GOAL = 0.98


def load_mnist(folder, n_train=None):
    """(x_train, y_train, x_test, y_test) as torch tensors: float32 /255 (N, 28, 28), int64 (N,)."""
    x_train, y_train, x_test, y_test = mnist_files.load_mnist(folder, n_train)
    return (torch.from_numpy(x_train), torch.from_numpy(y_train.astype(np.int64)),
            torch.from_numpy(x_test), torch.from_numpy(y_test.astype(np.int64)))


def make_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def train_epoch(model, opt, loss_fn, x, y, batch_size, gen):
    """One epoch over a fresh permutation; returns its wall time in seconds."""
    model.train()
    n = x.shape[0]
    start = time.perf_counter()
    perm = torch.randperm(n, generator=gen)
    for i in range(0, n, batch_size):
        idx = perm[i:i + batch_size]
        logits = model(x[idx])
        loss = loss_fn(logits, y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


@torch.inference_mode()
def accuracy(model, x, y):
    model.eval()
    return float((model(x).argmax(dim=1) == y).float().mean())


def fresh(seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, opt, nn.CrossEntropyLoss(), gen



def main(argv=None):
    p = record.options("PyTorch peer benchmark (see module docstring).")
    p.add_argument("--batch-target", type=int, default=64)
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="torch.set_num_threads (default: the core count)")
    args, parts, json_out = record.parse(p, argv)

    torch.set_num_threads(args.threads)
    x_train, y_train, x_test, y_test = load_mnist(args.data, args.slice)
    result = record.header("pytorch", torch.__version__, args, parts, x_train, x_test, IMPORT_SECONDS,
                           threads=torch.get_num_threads())

    if "epoch" in parts:
        result["epoch_seconds"] = {}
        for batch_size in (32, 128):
            model, opt, loss_fn, gen = fresh(args.seed)
            times = [train_epoch(model, opt, loss_fn, x_train, y_train, batch_size, gen)
                     for _ in range(args.epochs_timing)]
            result["epoch_seconds"][str(batch_size)] = [round(t, 4) for t in times]
        result["epoch_seconds_median"] = {
            k: round(statistics.median(v), 4) for k, v in result["epoch_seconds"].items()}

    model = None
    if "target" in parts:
        model, opt, loss_fn, gen = fresh(args.seed)
        epoch_times, accs, reached_at = [], [], None
        for epoch in range(1, args.epochs_target + 1):
            epoch_times.append(
                train_epoch(model, opt, loss_fn, x_train, y_train, args.batch_target, gen))
            accs.append(accuracy(model, x_test, y_test))  # not timed
            if accs[-1] >= GOAL:
                reached_at = epoch
                break
        result["target"] = record.target(GOAL, args.batch_target, args.epochs_target, reached_at, epoch_times, accs)
    result["peak_rss_mb_after_training"] = round(rss_mb(), 1)

    if "infer" in parts:
        if model is None:
            model, *_ = fresh(args.seed)
        model.eval()
        with torch.inference_mode():
            model(x_test)  # warm-up
            batch = []
            for _ in range(args.infer_runs):
                start = time.perf_counter()
                model(x_test).argmax(dim=1)
                batch.append(time.perf_counter() - start)
            singles = []
            for i in range(args.single_calls + 5):
                one = x_test[i % x_test.shape[0]].unsqueeze(0)  # (1, 28, 28)
                start = time.perf_counter()
                model(one).argmax(dim=1)
                singles.append(time.perf_counter() - start)
            singles = sorted(singles[5:])  # the first few are warm-up
        result["infer"] = {
            "batch_10000_ms": round(1000 * statistics.median(batch), 3),
            "batch_runs": args.infer_runs,
            **single_latencies(singles),
            "single_calls": args.single_calls,
            "method": "model(x).argmax(1) under torch.inference_mode(), model.eval()",
        }

    return finish(result, json_out)


if __name__ == "__main__":
    sys.exit(main())
