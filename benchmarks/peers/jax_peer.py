"""JAX peer benchmark: the lesson's network the way a JAX user writes it, on the CPU.

Run with the peer venv (benchmarks/setup_peers.sh), one process per measurement set:

    benchmarks/.venv-peers/bin/python benchmarks/peers/jax_peer.py --data DIR [--seed 0]
        [--parts epoch,target,infer] [--epochs-timing 3] [--epochs-target 15]
        [--recipe adam-128] [--slice N] [--quick]

The model is a pure function of a parameter pytree (Keras's initialisation: glorot_uniform
kernels, zero biases):

    logits = relu(x.reshape(N, 784) @ w1 + b1) @ w2 + b2
    loss   = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

and one epoch is ONE jit-compiled function: a fresh permutation from jax.random, a `lax.scan`
over the full batches (each step gathers its batch from the device-resident training set,
takes jax.value_and_grad, and applies the optax optimizer; unrolled 4 steps at a time, the
fastest of 1, 2, 4, 8 and 16 on the 2-core machine), then one more step for the last,
smaller batch so that every epoch sees all images, as the other frameworks' epochs do. The
parameters and optimizer state are donated to the call (their buffers are reused). The epoch
function is compiled ahead of time (jit(...).lower(...).compile()) for each batch size before
any clock starts; that compile time is reported apart as "compile_seconds". The data are read
from the four IDX .gz files in --data, made float32 /255 once and put on the device before any
timing. XLA picks its own thread counts (all cores).

Recipes (--recipe, for the `target` part; `epoch` always uses Adam 1e-3):
  adam-32, adam-64, adam-128   optax.adam(1e-3) at that batch size
  cosine-128                   digitlens's default recipe written in optax:
                               warmup_cosine_decay_schedule(8e-4 -> 8e-3 over the first tenth of
                               3 epochs, then down to 0), batch 128
adam-64 is the default, JAX's best of the constant-rate ones: over seeds 0, 1, 2 the epochs
needed to reach 98.0% were 11, 12, 9 at batch 32, 7, 8, 6 at batch 64, 9, 11, 6 at batch 128,
and an epoch at 64 costs far less than two at 128. cosine-128 is digitlens's recipe, which
benchmarks/run.py also runs apart, to show how much of digitlens's lead is its recipe.

Parts (--parts, comma-separated):
  epoch   seconds per epoch at batch 32 and at batch 128 (--epochs-timing epochs each, a fresh
          model per batch size, each epoch timed until its parameters are ready).
  target  train with --recipe until test accuracy >= 98.0% or --epochs-target epochs; the
          10,000 test images are evaluated after every epoch with the jitted predict function,
          and that evaluation is NOT counted: "seconds" is training time only.
  infer   a jitted `argmax(logits(params, x))`: the 10,000 test images in one call (median of
          --infer-runs runs after a warm-up), and one image per call (median over
          --single-calls calls), each image a NumPy array as a caller would hand it over, the
          answer brought back with np.asarray. Uses the model trained by `target` when that part
          ran, else a fresh one.

--slice N uses only the first N training images (a smoke run); --quick cuts every count down
(1 timing epoch, at most 2 target epochs, 3 batch and 50 single inference runs).

Prints one JSON object to stdout, with the keys of peers/torch_peer.py ("framework": "jax",
"version": jax.__version__, "optax": optax.__version__, "recipe", "compile_seconds").
"""

import time

_t0 = time.perf_counter()
import jax  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _t0

import statistics  # noqa: E402
import sys  # noqa: E402

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import mnist_files  # noqa: E402  (beside this script)
import record  # noqa: E402  (beside it too)
from record import finish, rss_mb, single_latencies  # noqa: E402

GOAL = 0.98
UNROLL = 4   # lax.scan unroll: the fastest of 1, 2, 4, 8, 16 here (1.25 -> 0.83 s per epoch at batch 32)
RECIPES = {"adam-32": 32, "adam-64": 64, "adam-128": 128, "cosine-128": 128}


def init_params(key, sizes=(784, 256, 10)):
    """Keras's initialisation: glorot_uniform kernels (fan_in, fan_out), zero biases."""
    glorot = jax.nn.initializers.glorot_uniform()
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        key, sub = jax.random.split(key)
        params[f"w{i}"] = glorot(sub, (n_in, n_out), jnp.float32)
        params[f"b{i}"] = jnp.zeros((n_out,), jnp.float32)
    return params


def logits_fn(params, x):
    h = jax.nn.relu(x.reshape(x.shape[0], -1) @ params["w1"] + params["b1"])  # (N, 784) -> (N, 256)
    return h @ params["w2"] + params["b2"]                                      # (N, 256) -> (N, 10)


def loss_fn(params, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits_fn(params, x), y).mean()


@jax.jit
def predict(params, x):
    return jnp.argmax(logits_fn(params, x), axis=-1)


def make_epoch(optimizer, n, batch_size):
    """One whole epoch as one jit-compiled function: (params, state, x, y, key) -> (params,
    state, losses)."""
    full, rest = divmod(n, batch_size)

    def step(carry, idx, x, y):
        params, state = carry
        loss, grads = jax.value_and_grad(loss_fn)(params, x[idx], y[idx])
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), loss

    def epoch(params, state, x, y, key):
        order = jax.random.permutation(key, n)
        carry, losses = jax.lax.scan(lambda c, idx: step(c, idx, x, y), (params, state),
                                     order[:full * batch_size].reshape(full, batch_size), unroll=UNROLL)
        if rest:                                   # the last, smaller batch (a second shape)
            carry, last = step(carry, order[full * batch_size:], x, y)
            losses = jnp.concatenate([losses, last[None]])
        return carry[0], carry[1], losses

    return jax.jit(epoch, donate_argnums=(0, 1))


class Trainer:
    """A model, its optimizer state and its compiled epoch; `epoch()` returns wall seconds."""

    def __init__(self, seed, optimizer, x, y, batch_size):
        key = jax.random.PRNGKey(seed)
        self.key, init_key = jax.random.split(key)
        self.params = init_params(init_key)
        self.state = optimizer.init(self.params)
        self.x, self.y = x, y
        started = time.perf_counter()
        self.compiled = make_epoch(optimizer, x.shape[0], batch_size).lower(
            self.params, self.state, x, y, self.key).compile()
        self.compile_seconds = time.perf_counter() - started

    def epoch(self):
        self.key, sub = jax.random.split(self.key)
        jax.block_until_ready(sub)
        start = time.perf_counter()
        self.params, self.state, losses = self.compiled(self.params, self.state, self.x, self.y, sub)
        jax.block_until_ready((self.params, losses))
        return time.perf_counter() - start


def recipe_optimizer(name, steps_per_epoch, epochs=3):
    if name == "cosine-128":          # recipes.py's "default", as make_optimizer builds it
        total = steps_per_epoch * epochs
        warmup = total // 10
        return optax.adam(optax.warmup_cosine_decay_schedule(8e-4, 8e-3, warmup, total, end_value=0.0))
    return optax.adam(1e-3)


def accuracy(params, x, y):
    return float((np.asarray(predict(params, x)) == y).mean())



def median_ms(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main(argv=None):
    p = record.options("JAX peer benchmark (see module docstring).")
    p.add_argument("--recipe", default="adam-64", choices=sorted(RECIPES))
    args, parts, json_out = record.parse(p, argv)

    x_train, y_train, x_test, y_test = mnist_files.load_mnist(args.data, args.slice)
    x_dev, y_dev = jax.device_put(x_train), jax.device_put(y_train.astype(np.int32))
    result = record.header("jax", jax.__version__, args, parts, x_train, x_test, IMPORT_SECONDS,
                           optax=optax.__version__, devices=[str(d) for d in jax.devices()])
    result["compile_seconds"] = {}

    if "epoch" in parts:
        result["epoch_seconds"] = {}
        for batch_size in (32, 128):
            trainer = Trainer(args.seed, optax.adam(1e-3), x_dev, y_dev, batch_size)
            result["compile_seconds"][str(batch_size)] = round(trainer.compile_seconds, 3)
            times = [trainer.epoch() for _ in range(args.epochs_timing)]
            result["epoch_seconds"][str(batch_size)] = [round(t, 4) for t in times]
        result["epoch_seconds_median"] = {
            k: round(statistics.median(v), 4) for k, v in result["epoch_seconds"].items()}

    params = None
    if "target" in parts:
        batch_size = RECIPES[args.recipe]
        steps = -(-x_train.shape[0] // batch_size)
        trainer = Trainer(args.seed, recipe_optimizer(args.recipe, steps), x_dev, y_dev, batch_size)
        result["compile_seconds"]["target"] = round(trainer.compile_seconds, 3)
        epoch_times, accs, reached_at = [], [], None
        for epoch in range(1, args.epochs_target + 1):
            epoch_times.append(trainer.epoch())
            accs.append(accuracy(trainer.params, x_test, y_test))  # not timed
            if accs[-1] >= GOAL:
                reached_at = epoch
                break
        params = trainer.params
        result["target"] = record.target(
            GOAL, batch_size, args.epochs_target, reached_at, epoch_times, accs, recipe=args.recipe,
            timing="training only; per-epoch test evaluation and the ahead-of-time compile excluded")
    result["peak_rss_mb_after_training"] = round(rss_mb(), 1)

    if "infer" in parts:
        if params is None:
            params = init_params(jax.random.PRNGKey(args.seed))
        one = x_test[:1]
        np.asarray(predict(params, x_test))       # warm-up: compiles both shapes
        np.asarray(predict(params, one))
        batch_ms = median_ms(lambda: np.asarray(predict(params, x_test)), args.infer_runs)
        singles = []
        for i in range(args.single_calls):
            x1 = x_test[i % len(x_test)][None]    # (1, 28, 28), a NumPy array
            start = time.perf_counter()
            np.asarray(predict(params, x1))
            singles.append(time.perf_counter() - start)
        singles.sort()
        result["infer"] = {
            "batch_10000_ms": round(batch_ms, 3),
            "batch_runs": args.infer_runs,
            **single_latencies(singles),
            "single_calls": args.single_calls,
            "method": "jit(argmax(logits(params, x))) on a NumPy array, np.asarray of the answer",
        }

    return finish(result, json_out)


if __name__ == "__main__":
    sys.exit(main())
