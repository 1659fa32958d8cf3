"""`digitlens train`: train the lesson's network (or another, --arch) on MNIST, show progress, report, save."""

import random

from .common import (DEFAULT_MODEL, add_data_option, add_json_option, check_output, console,
                     literal, load_dataset, percent, print_json, remember_model)


def add_parsers(commands):
    from ..architectures import SPEC_HELP

    parser = commands.add_parser(
        "train", help="train the lesson's network (Flatten -> Dense(256, relu) -> Dense(10, softmax)), or --arch cnn",
        description="Train the lesson's network from random weights on MNIST, with a progress bar per "
        "epoch, then report the test accuracy and save the model as a Keras .keras file. "
        "With no options it uses digitlens's default recipe, which reaches 98% test accuracy; "
        "--recipe lesson runs the lesson's own (Adam 1e-3, batch 32, 5 epochs). --arch cnn trains the "
        "course's convolutional network instead, and --arch takes other networks too.",
        epilog=f"--arch spec words: {SPEC_HELP}. Example: --arch conv32x3,pool2,flatten,dense128,dense10 "
        "is --arch cnn.")
    parser.add_argument("--recipe", default="default", choices=("default", "lesson", "augment"),
                        help="training recipe (default: default); the options below override its parts")
    parser.add_argument("--epochs", type=positive_int, help="passes over the training set")
    parser.add_argument("--batch-size", type=positive_int, help="images per step")
    parser.add_argument("--optimizer", choices=("adam", "sgd", "rmsprop"), help="how weights are updated")
    parser.add_argument("--learning-rate", type=positive_float, metavar="RATE", help="step size (peak, if scheduled)")
    parser.add_argument("--momentum", type=fraction, metavar="M",
                        help="with --optimizer sgd: keep a running velocity (e.g. 0.9); default 0, plain SGD")
    add_arch_option(parser)
    parser.add_argument("--hidden", metavar="LAYERS",
                        help="the lesson's network with these hidden layers, SIZE:ACTIVATION, comma-separated "
                        "(default: 256:relu; e.g. 128:relu,64:tanh)")
    parser.add_argument("--augment", action="store_true", default=None,
                        help="train on randomly shifted and rotated digits")
    parser.add_argument("--validation-split", type=fraction, default=0.0, metavar="F",
                        help="hold out this fraction of the training set for validation instead of "
                        "validating on the test set")
    parser.add_argument("--seed", type=non_negative_int, help="random seed, for a run you can repeat (default: random)")
    parser.add_argument("--out", metavar="FILE.keras", default=DEFAULT_MODEL,
                        help=f"where to save the model, .keras or .h5 (default: {DEFAULT_MODEL})")
    add_data_option(parser)
    add_json_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no summary or progress bars")
    parser.add_argument("--no-timeline", dest="timeline", action="store_false",
                        help="do not record the training timeline (snapshots of the weights at steps "
                        "0, 1, 2, 5, 10, ... kept in the model file; see 'digitlens timeline')")
    parser.set_defaults(run=run)


def add_arch_option(parser):
    parser.add_argument("--arch", metavar="ARCH",
                        help="the network: lesson (the default), cnn (the course's CNN: Conv2D(32, 3x3, relu) -> "
                        "MaxPooling2D(2) -> Flatten -> Dense(128, relu) -> Dense(10, softmax)), layers as words "
                        "(e.g. conv32x3,pool2,flatten,dense128,dense10; see the end of --help), or a Keras "
                        "model config in a .json file (model.to_json())")


def build_network(args, input_shape, classes, seed=None):
    """(the model --arch or --hidden asks for, unbuilt weights drawn fresh; how to name it)."""
    from .. import architectures, recipes
    from ..errors import DigitlensError

    if args.arch is not None and args.hidden is not None:
        raise DigitlensError("give either --arch or --hidden (the lesson's network's hidden layers), not both")
    if args.arch is not None:
        return architectures.build(args.arch, input_shape, classes, seed), {"arch": args.arch}
    hidden = recipes.parse_hidden(args.hidden or "256:relu")
    # Counted on an unbuilt copy, before anything is allocated (a model given its input shape
    # builds itself at once, as Keras's does).
    architectures.check_size(recipes.build_model(hidden, classes=classes, input_shape=None), "--hidden",
                             input_shape=input_shape)
    model = recipes.build_model(hidden, classes=classes, input_shape=input_shape, seed=seed).build()
    return model, {"hidden": [list(h) for h in hidden]}


def positive_int(text):
    import argparse

    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, received {text!r}")
    return int(text)


def non_negative_int(text):
    import argparse

    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number 0 or more, received {text!r}")
    return int(text)


FLOAT32_MAX = 3.4028234663852886e38    # the largest number a float32 weight can be changed by


def positive_float(text):
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= FLOAT32_MAX:
        raise argparse.ArgumentTypeError(f"expected a positive number a float32 can hold (at most 3.4e38), "
                                         f"received {text!r}")
    return value


def fraction(text):
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), received {text!r}")
    return value


def run(args):
    from .. import recipes
    from ..io import save_model
    from .progress import EpochProgress

    from ..io import SUFFIXES

    out_path = check_output(args.out, tuple(SUFFIXES), "--out")
    recipe = recipes.get_recipe(args.recipe, epochs=args.epochs, batch_size=args.batch_size,
                                optimizer=args.optimizer, learning_rate=args.learning_rate,
                                augment=args.augment, momentum=args.momentum)
    build_network(args, (28, 28), 10)                     # a bad --arch or --hidden is refused before the data loads
    seed = args.seed if args.seed is not None else random.randrange(10_000)
    show = console(stderr=args.json)
    quiet = args.quiet or args.json

    ds = load_dataset(args)
    model, network = build_network(args, ds.x_train.shape[1:], len(ds.class_names), seed)
    model.class_names = list(ds.class_names)
    model.dataset = ds.info.name
    if not quiet:
        show.print(f"[bold]{literal(ds.describe())}[/bold]: {len(ds.x_train):,} training and "
                   f"{len(ds.x_test):,} test images")
        model.summary(print_fn=lambda text: show.print(text, markup=False))
        show.print(f"\ntraining with recipe {recipe.describe()}, seed {seed}")
    validation = None if args.validation_split else (ds.x_test, ds.y_test)
    callbacks = [] if quiet else [EpochProgress(show)]
    from ..explain.common import reads_pixels_first

    if args.timeline and reads_pixels_first(model):
        from ..explain.timeline import Timeline, choose_probes

        callbacks.append(Timeline(probes=choose_probes(ds.x_test, ds.y_test)))
    elif args.timeline and not quiet:
        show.print("(no timeline: it films the first Dense layer's weights as pictures of pixels, and this "
                   "network's first Dense layer reads the layers before it instead)")
    history = recipes.train(model, ds.x_train, ds.y_train, recipe, validation_data=validation,
                            validation_split=args.validation_split, callbacks=callbacks)
    test_loss, test_accuracy = model.evaluate(ds.x_test, ds.y_test)
    save_model(model, out_path)
    remember_model(out_path)

    train_seconds = sum(history.seconds)
    if args.json:
        print_json({
            "test_accuracy": test_accuracy, "test_loss": test_loss, "train_seconds": train_seconds,
            "model": str(out_path), "seed": seed, "recipe": recipe.to_dict(), **network,
            "params": model.count_params(), "dataset": ds.info.name,
            "epochs": [{"epoch": i + 1, "seconds": history.seconds[i], "loss": history.history["loss"][i],
                        "accuracy": history.history["accuracy"][i],
                        "val_accuracy": history.history.get("val_accuracy", [None] * (i + 1))[i],
                        "val_loss": history.history.get("val_loss", [None] * (i + 1))[i]}
                       for i in range(len(history.epoch))],
        })
        return 0
    if test_loss != test_loss:     # NaN: the weights ran off to infinity
        show.print("training diverged: the loss became NaN (not a number); try a smaller --learning-rate",
                   markup=False)
    show.print(f"\n[bold]test accuracy {percent(test_accuracy)}[/bold] (loss {test_loss:.4f}) "
               f"after {train_seconds:.1f}s of training")
    show.print(f"saved to {literal(out_path)}")
    for line in next_steps(out_path):
        show.print(line, style="dim", markup=False)
    return 0


def next_steps(model_path):
    """What to try next, as commands that run as shown from this shell (see common.how_to_run)."""
    import shlex

    from .common import how_to_run

    run, model = how_to_run(), shlex.quote(str(model_path))
    lines = ["next:"] + [f"  {run} {step}" for step in (f"evaluate {model}",
                                                         f"explain {model} --out report.html",
                                                         f"serve {model}")]
    if run.endswith("/digitlens") and not run.startswith("/"):
        lines.append(f"  (or run 'source {run.rsplit('/', 1)[0]}/activate' once, then just 'digitlens ...')")
    return lines
