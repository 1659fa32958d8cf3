"""`digitlens summary` and `digitlens evaluate`: what a model is, and how well it reads digits."""

import numpy as np

from .common import (add_data_option, add_json_option, console, literal, load_dataset,
                     load_model, model_path, percent, print_json)


def add_parsers(commands):
    summary = commands.add_parser(
        "summary", help="the model's layers and parameter counts, with the arithmetic",
        description="Print Keras's summary table for a model - layers, output shapes, parameter "
        "counts - and where each count comes from. With no MODEL: the last model 'digitlens train' "
        "saved, or else the lesson's network before training.")
    summary.add_argument("model", nargs="?", metavar="MODEL", help=".keras or .h5 file")
    summary.add_argument("--hidden", metavar="LAYERS", help="instead of a file, the lesson's network with "
                         "these hidden layers (e.g. 128:relu,64:tanh)")
    from .train_cmd import add_arch_option
    add_arch_option(summary)
    add_json_option(summary)
    summary.set_defaults(run=run_summary)

    evaluate = commands.add_parser(
        "evaluate", help="test loss and accuracy, overall and per class",
        description="Measure a model on the 10,000 test images: loss, accuracy, and accuracy for "
        "each digit. With no MODEL: the last model 'digitlens train' saved.")
    evaluate.add_argument("model", nargs="?", metavar="MODEL", help=".keras or .h5 file")
    add_data_option(evaluate)
    add_json_option(evaluate)
    evaluate.set_defaults(run=run_evaluate)


def run_summary(args):
    from .. import recipes
    from ..nn.summary import totals, summary_text
    from .train_cmd import build_network

    given = args.hidden is not None or args.arch is not None
    if given and args.model:
        from ..errors import DigitlensError
        raise DigitlensError(f"give either MODEL or {'--arch' if args.arch is not None else '--hidden'}, not both")
    if given:
        model, _ = build_network(args, (28, 28), 10)
        source = (f"the network --arch {args.arch}" if args.arch is not None else
                  "the lesson's network with hidden layers " + args.hidden) + " (untrained)"
    else:
        path = model_path(args.model, required=False)
        if path is None:
            model = recipes.build_model().build()
            source = "the lesson's network (untrained: run 'digitlens train' to train it)"
        else:
            model = load_model(path)
            source = str(path)
    if args.json:
        counts = totals(model)
        print_json({"model": source, "name": model.name, "layers": counts["rows"],
                    "total_params": counts["trainable"] + counts["non_trainable"],
                    "trainable_params": counts["trainable"], "non_trainable_params": counts["non_trainable"],
                    "optimizer_params": counts["optimizer"]})
        return 0
    out = console()
    out.print(f"[dim]{literal(source)}[/dim]")
    out.print(summary_text(model), markup=False)
    return 0


def run_evaluate(args):
    from ..errors import DigitlensError
    from ..explain.evaluation import evaluate

    path = model_path(args.model)
    model = load_model(path)
    ds = load_dataset(args)
    if model.output_shape[-1] != len(ds.class_names):
        raise DigitlensError(f"{path}: the model has {model.output_shape[-1]} outputs, but {ds.info.title} "
                             f"has {len(ds.class_names)} classes")
    if model.input_shape != ds.x_test.shape[1:] and np.prod(model.input_shape) != np.prod(ds.x_test.shape[1:]):
        raise DigitlensError(f"{path}: the model takes inputs of shape {model.input_shape}, but "
                             f"{ds.info.title}'s images are {ds.x_test.shape[1:]}")
    result = evaluate(model, ds.x_test, ds.y_test, class_names=ds.class_names)
    per_class = [{"class": label, "name": name, "count": count, "accuracy": accuracy}
                 for label, (name, count, accuracy) in enumerate(zip(
                     result["class_names"], result["per_class_count"], result["per_class_accuracy"]))]
    if args.json:
        print_json({"model": str(path), "test_accuracy": result["accuracy"], "test_loss": result["loss"],
                    "test_images": result["count"], "per_class": per_class,
                    "confusion": result["confusion"], "top_confusions": result["top_confusions"]})
        return 0
    from rich.table import Table

    out = console()
    right = sum(result["confusion"][k][k] for k in range(len(per_class)))
    out.print(f"[bold]{literal(path)}[/bold] on {literal(ds.describe())}, {result['count']:,} test images")
    out.print(f"test accuracy [bold]{percent(result['accuracy'])}[/bold] ({right:,} right, "
              f"{result['count'] - right:,} wrong), test loss {result['loss']:.4f}")
    table = Table(title="accuracy per class", title_justify="left")
    for column in ("class", "images", "accuracy"):
        table.add_column(column, justify="right" if column != "class" else "left")
    for row in per_class:
        table.add_row(literal(row["name"]), f"{row['count']:,}", percent(row["accuracy"]) if row["accuracy"] is not None else "-")
    out.print(table)
    if result["top_confusions"]:
        out.print("most common mistakes: " + ", ".join(
            f"{literal(result['class_names'][c['label']])} read as {literal(result['class_names'][c['predicted']])} "
            f"({c['count']})"
            for c in result["top_confusions"][:5]))
    return 0
