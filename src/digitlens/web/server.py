"""`serve()`: get a model, then run the web app on uvicorn until Ctrl+C.

With a MODEL file, the app starts with it. Without one, it loads the model it trained the last
time it ran with no MODEL (kept in digitlens's cache), or trains the lesson's network first, with
the CLI's progress bars, and keeps the result there for next time. Models trained in the app's
Train tab are kept there too. Either way MNIST is read (downloaded if need be) before the app
starts, so the Train and Model & data tabs never wait for it; without it, the app says so at once.
"""

import errno
import socket
import sys
import threading
import webbrowser
from pathlib import Path

from ..errors import DigitlensError


def saved_model_path():
    """Where serve() keeps the model it trained: <cache>/digitlens/web/last.keras."""
    from ..datasets.mnist import cache_dir

    return cache_dir("web") / "last.keras"


def serve(model_path=None, host="127.0.0.1", port=8000, open_browser=False, data_dir=None):
    """Start the web app at http://host:port/ and serve until interrupted.

    model_path: a .keras or .h5 file; None loads the model serve() trained last, or trains one.
    host: the address to bind; 127.0.0.1 (this machine only) unless the learner chooses otherwise.
    data_dir: where MNIST is (None: $DIGITLENS_DATA, the cache, or a download).
    """
    import uvicorn

    from .app import create_app

    check_port(host, port)
    model, origin, dataset = get_model(model_path, data_dir)
    if dataset is None:
        dataset = load_data_at_start(data_dir)
    local = host in LOCAL_HOSTS
    # On this machine only, the learner's last trained model is kept for the next start; a class's
    # students' models are theirs alone, and the teacher's model stays the one everyone starts with.
    app = create_app(model, data_dir=data_dir, dataset=dataset, origin=origin,
                     allowed_hosts=allowed_hosts_for(host), after_training=keep_model if local else None)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    print(f"digitlens is running at {url}  (Ctrl+C to stop)", flush=True)
    if not local:
        print(f"note: bound to {host}, so other machines on the network can reach it; each browser gets "
              "its own session starting from this model, and training jobs take turns", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, [url]).start()
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=1)


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def allowed_hosts_for(host):
    from .guard import allowed_host_names

    return allowed_host_names(host)


def check_port(host, port):
    """Fail with one clear line if the address cannot be bound (port taken, bad address)."""
    if not 0 < int(port) < 65536:
        raise DigitlensError(f"--port: expected a port from 1 to 65535, received {port}")
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, int(port)))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise DigitlensError(f"port {port} on {host} is already in use: pass --port with another number") from None
        raise DigitlensError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def get_model(model_path, data_dir):
    """(model, where it came from, the dataset if it had to be loaded)."""
    from ..io import load_model

    if model_path is not None:
        from .api_files import check_fits_app

        model = load_model(model_path)
        check_fits_app(model, str(model_path))    # as for an upload: one line if the Draw tab cannot read it
        return model, f"loaded from {Path(model_path).name}", None
    kept = saved_model_path()
    if kept.is_file():
        try:
            return load_model(kept), "the model this app trained last time", None
        except DigitlensError as error:
            print(f"ignoring {kept}: {error}", file=sys.stderr)
    return train_lesson_model(data_dir)


def load_data_at_start(data_dir):
    """Read MNIST before serving - downloading it, with a progress bar, if it is nowhere yet.

    The Train and Model & data tabs need it; a request must not wait minutes for a download, so it
    happens here, once. Without it (no network, say) the app still starts - drawing and predicting
    need no data - and says what is missing and how to get it. A --data that is wrong is an error.
    """
    from ..datasets import mnist
    from ..errors import DataError

    try:
        dataset = mnist.load_dataset(data_dir, progress=sys.stderr.isatty())
    except DataError as error:
        if data_dir is not None:
            raise DigitlensError(f"--data: {error}") from None
        print(f"note: {error}", file=sys.stderr, flush=True)
        print("note: drawing and predicting work without it, but the Train and Model & data tabs need "
              "MNIST: restart with --data DIR (a folder with its four IDX files), or with the network on "
              "(it downloads 11 MB)", file=sys.stderr, flush=True)
        return None
    print(dataset.describe(), flush=True)
    return dataset


def train_lesson_model(data_dir):
    """Train the lesson's network with digitlens's default recipe, printing Keras-style progress."""
    from .. import recipes
    from ..datasets import mnist

    dataset = mnist.load_dataset(data_dir, progress=sys.stderr.isatty())
    recipe = recipes.get_recipe("default")
    print(f"no model given: training the lesson's network on {dataset.describe()}", flush=True)
    print(f"recipe {recipe.describe()}", flush=True)
    model = recipes.build_model(classes=len(dataset.class_names), input_shape=dataset.x_train.shape[1:])
    model.build()
    model.class_names = list(dataset.class_names)
    model.dataset = dataset.info.name
    recipes.train(model, dataset.x_train, dataset.y_train, recipe,
                  validation_data=(dataset.x_test, dataset.y_test), verbose=1)
    _, accuracy = model.evaluate(dataset.x_test, dataset.y_test)
    keep_model(model)
    return model, f"the lesson's network, trained at start ({accuracy:.1%} on the test set)", dataset


def keep_model(model):
    """Save a model trained in the app, so the next `digitlens serve` starts with it."""
    from ..io import save_model

    path = saved_model_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_model(model, path)
    except (OSError, DigitlensError) as error:
        print(f"could not keep the trained model in {path}: {error}", file=sys.stderr)
