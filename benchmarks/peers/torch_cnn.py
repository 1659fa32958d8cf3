"""PyTorch peer benchmark: the course's CNN in plain eager PyTorch.

Run with the peer venv (benchmarks/setup_peers.sh), one process per measurement set:

    benchmarks/.venv-peers/bin/python benchmarks/peers/torch_cnn.py --data DIR [--seed 0]
        [--epochs-timing 2] [--infer-runs 5] [--threads N] [--slice N] [--test-slice N] [--quick]

The network is PyTorch's spelling of the course's Keras CNN:

    nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                  nn.Linear(32 * 13 * 13, 128), nn.ReLU(), nn.Linear(128, 10))

in PyTorch's own layout, images (N, 1, 28, 28) (channels first, which its CPU convolutions are
fastest at), PyTorch's default initialisation, CrossEntropyLoss on the logits (Keras's softmax +
sparse categorical cross-entropy) and torch.optim.Adam(lr=1e-3). The data are read from the four
IDX .gz files in --data, made float32 /255 and shaped (N, 1, 28, 28) once, before any timing.
Batches are taken by a fresh random permutation each epoch (no DataLoader: the fastest eager way).
torch.set_num_threads(--threads, default os.cpu_count()).

Measured (the same keys as benchmarks/cnn.py's digitlens worker and peers/keras_cnn.py):
  epoch_seconds        {"32": [s, ...], "128": [s, ...]}: --epochs-timing epochs at each batch size,
                       a fresh model for each; epoch_seconds_median beside it
  epoch_accuracy       {"32": test accuracy after the first epoch, "128": ...} (not timed)
  infer                {"batch_10000_ms": the 10,000 test images in one call, median of
                       --infer-runs after a warm-up, under torch.inference_mode() in eval mode,
                       "batch_runs", "method"}
  peak_rss_mb_after_training   ru_maxrss after training, MB
  import_seconds, version, threads, cpu_count, loadavg_start, loadavg_end, train_images, ...
Prints one JSON object to stdout and nothing else.
"""

import time

_t0 = time.perf_counter()
import torch  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _t0

import argparse  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
from torch import nn  # noqa: E402

import mnist_files  # noqa: E402  (beside this script)
from record import finish, rss_mb  # noqa: E402  (beside it too)


def make_model():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(32 * 13 * 13, 128), nn.ReLU(), nn.Linear(128, 10))


def train_epoch(model, opt, loss_fn, x, y, batch_size, gen):
    """One epoch over a fresh permutation; returns its wall time in seconds."""
    model.train()
    start = time.perf_counter()
    perm = torch.randperm(x.shape[0], generator=gen)
    for i in range(0, x.shape[0], batch_size):
        idx = perm[i:i + batch_size]
        loss = loss_fn(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


@torch.inference_mode()
def accuracy(model, x, y):
    model.eval()
    return float((model(x).argmax(dim=1) == y).float().mean())



def main(argv=None):
    p = argparse.ArgumentParser(description="PyTorch CNN peer benchmark (see module docstring).")
    p.add_argument("--data", required=True, help="folder with the four MNIST IDX .gz files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs-timing", type=int, default=2)
    p.add_argument("--infer-runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--slice", type=int, default=None, help="use the first N training images")
    p.add_argument("--test-slice", type=int, default=None, help="use the first N test images")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 epoch, 2 inference runs")
    args = p.parse_args(argv)
    missing = mnist_files.missing_files(args.data)
    if missing:
        p.error(f"--data: expected a folder with the four MNIST IDX .gz files, "
                f"{args.data!r} lacks {', '.join(missing)}")
    if args.quick:
        args.epochs_timing, args.infer_runs = 1, 2

    json_out = os.fdopen(os.dup(1), "w")       # everything but the JSON goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    torch.set_num_threads(args.threads)
    x_train, y_train, x_test, y_test = mnist_files.load_mnist(args.data, args.slice)
    x_test, y_test = x_test[:args.test_slice], y_test[:args.test_slice]
    x_train, x_test = (torch.from_numpy(a[:, None]) for a in (x_train, x_test))     # (N, 1, 28, 28)
    y_train, y_test = (torch.from_numpy(a.astype(np.int64)) for a in (y_train, y_test))
    result = {"framework": "pytorch", "version": torch.__version__, "python": platform.python_version(),
              "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "seed": args.seed,
              "train_images": int(x_train.shape[0]), "test_images": int(x_test.shape[0]),
              "quick": args.quick, "loadavg_start": [round(v, 2) for v in os.getloadavg()],
              "import_seconds": round(IMPORT_SECONDS, 3), "epoch_seconds": {}, "epoch_accuracy": {}}

    model = None
    for batch_size in (32, 128):
        torch.manual_seed(args.seed)
        gen = torch.Generator().manual_seed(args.seed)
        model = make_model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        times = []
        for epoch in range(args.epochs_timing):
            times.append(train_epoch(model, opt, loss_fn, x_train, y_train, batch_size, gen))
            if epoch == 0:
                result["epoch_accuracy"][str(batch_size)] = round(accuracy(model, x_test, y_test), 4)
        result["epoch_seconds"][str(batch_size)] = [round(t, 4) for t in times]
    result["epoch_seconds_median"] = {k: round(statistics.median(v), 4) for k, v in result["epoch_seconds"].items()}
    result["peak_rss_mb_after_training"] = round(rss_mb(), 1)

    model.eval()
    with torch.inference_mode():
        model(x_test)                                         # warm-up
        batch = []
        for _ in range(args.infer_runs):
            start = time.perf_counter()
            model(x_test).argmax(dim=1)
            batch.append(time.perf_counter() - start)
    result["infer"] = {"batch_10000_ms": round(1000 * statistics.median(batch), 3), "batch_runs": args.infer_runs,
                       "method": "model(x).argmax(1) under torch.inference_mode(), model.eval()"}
    return finish(result, json_out)


if __name__ == "__main__":
    sys.exit(main())
