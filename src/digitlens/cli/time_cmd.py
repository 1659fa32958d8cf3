"""`digitlens timeline` and `digitlens compare`: how a model learned, and two models side by side."""

from .common import (add_data_option, add_json_option, check_output, console, load_dataset, load_model,
                     model_path, percent, print_json)


def add_parsers(commands):
    timeline = commands.add_parser(
        "timeline", help="replay how the network learned, as an animated GIF or PNG",
        description="Turn the training timeline a model recorded (digitlens train records one) into "
        "an animation for slides: at each recorded step (0, 1, 2, 5, 10, ...) the first layer's "
        "weights, each output's template and how the probe images are read.")
    timeline.add_argument("model", nargs="?", metavar="MODEL", help=".keras or .h5 file (default: the last trained)")
    timeline.add_argument("--out", default="timeline.gif", metavar="FILE",
                          help=".gif, or .png/.apng for an animated PNG (default: timeline.gif)")
    timeline.add_argument("--seconds", type=float, default=0.6, metavar="S", help="seconds per frame (default 0.6)")
    add_json_option(timeline)
    timeline.set_defaults(run=run_timeline)

    compare = commands.add_parser(
        "compare", help="two models side by side on the test set",
        description="Compare two models on the same test images: parameters, accuracy overall and per "
        "class, the confusion matrices and their difference, how often they agree, and the images "
        "one reads right and the other wrong. --out writes the comparison as an HTML report.")
    compare.add_argument("model_a", metavar="A", help="a .keras or .h5 file")
    compare.add_argument("model_b", metavar="B", help="another .keras or .h5 file")
    compare.add_argument("--out", metavar="FILE.html", help="also write an HTML report")
    add_data_option(compare)
    add_json_option(compare)
    compare.set_defaults(run=run_compare)


def run_timeline(args):
    from ..errors import DigitlensError
    from ..viz.timeline import FILM_SUFFIXES, write_film

    out = check_output(args.out, FILM_SUFFIXES, "--out")
    if not 0.02 <= args.seconds <= 60:
        raise DigitlensError(f"--seconds: expected 0.02 to 60 seconds per frame, received {args.seconds:g}")
    path = model_path(args.model)
    model = load_model(path)
    timeline = getattr(model, "timeline", None)
    if timeline is None or not len(timeline):
        raise DigitlensError(f"{path}: this model carries no training timeline (train it with "
                             "'digitlens train' to record one)")
    write_film(timeline, out, seconds_per_frame=args.seconds, class_names=getattr(model, "class_names", None))
    if args.json:
        print_json({"model": str(path), "out": str(out), "frames": len(timeline), "steps": timeline.steps})
    else:
        console().print(f"wrote {out}: {len(timeline)} frames, steps {timeline.steps[0]:,} to "
                        f"{timeline.steps[-1]:,}", markup=False)
    return 0


def run_compare(args):
    from ..explain.compare import compare

    if args.out:
        check_output(args.out, (".html", ".htm"), "--out")
    models = [load_model(args.model_a), load_model(args.model_b)]
    ds = load_dataset(args)
    names = _short_names(args.model_a, args.model_b)
    result = compare(*models, ds.x_test, ds.y_test, names=names, class_names=list(ds.class_names))
    if args.out:
        from ..viz.compare import write_compare_report

        write_compare_report(models, result, args.out, ds.x_test, data_name=ds.describe())
    if args.json:
        from ..explain.common import to_json

        print_json(to_json({"models": [args.model_a, args.model_b], **{k: v for k, v in result.items()
                                                                       if k != "parameters"},
                            "params": [p["total"] for p in result["parameters"]],
                            "report": args.out}))
        return 0
    from rich.table import Table

    out = console()
    table = Table(title=f"{names[0]} vs {names[1]} on {result['count']:,} test images of {ds.describe()}",
                  title_justify="left")
    table.add_column("")
    for name in names:
        table.add_column(name, justify="right")
    table.add_row("parameters", *[f"{p['total']:,}" for p in result["parameters"]])
    table.add_row("layers", *[" -> ".join(r["label"] for r in p["layers"]) for p in result["parameters"]])
    table.add_row("test accuracy", *[percent(a) for a in result["accuracy"]])
    table.add_row("test loss", *[f"{loss:.4f}" for loss in result["loss"]])
    for k, class_name in enumerate(result["class_names"]):
        table.add_row(f"  accuracy on {class_name}", *[percent(c[k]) if c[k] is not None else "-"
                                                       for c in result["per_class_accuracy"]])
    out.print(table)
    out.print(f"they agree on {percent(result['agreement'])} of the images; both right on "
              f"{result['both_right']:,}, both wrong on {result['both_wrong']:,}; only {names[0]} right on "
              f"{result['only_a_count']:,}, only {names[1]} right on {result['only_b_count']:,}", markup=False)
    for row in result["shifted"]:
        out.print(f"moved {row['shift']}: " + "; ".join(
            f"{name} {percent(accuracy)} ({percent(changed)} of answers changed)"
            for name, accuracy, changed in zip(names, row["accuracy"], row["changed"])), markup=False)
    if args.out:
        out.print(f"wrote {args.out}", markup=False)
    return 0


def _short_names(a, b):
    """The two files' names as the models' labels ("mnist-32.keras"), told apart if they are alike."""
    from pathlib import Path

    first, second = Path(a).name, Path(b).name
    if first == second:
        first, second = str(Path(a)), str(Path(b))
    return first, second
