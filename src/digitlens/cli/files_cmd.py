"""`digitlens explain`, `digitlens diagram`, `digitlens export`: what the model learned, as files."""

from pathlib import Path

from .common import (add_data_option, add_json_option, check_output, console, literal, load_dataset, load_model,
                     model_path, print_json)


def add_parsers(commands):
    explain = commands.add_parser(
        "explain", help="an HTML report of what the network learned (and how it reads one image)",
        description="Write one self-contained HTML report: the flatten step, the parameter "
        "arithmetic, what each neuron looks for, how the model does on the test set, its training "
        "curves, and - for an image - its path through the network and one real backprop step.")
    explain.add_argument("model", nargs="?", metavar="MODEL", help=".keras or .h5 file (default: the last trained)")
    explain.add_argument("image", nargs="?", metavar="IMAGE", help="an image file to follow through the network")
    explain.add_argument("--index", type=int, metavar="N", help="follow test image number N instead")
    explain.add_argument("--label", type=int, metavar="DIGIT", help="the true digit of IMAGE, for the "
                         "backprop step (a test image's label is known)")
    explain.add_argument("--out", default="report.html", metavar="FILE.html", help="default: report.html")
    add_data_option(explain)
    add_json_option(explain)
    explain.set_defaults(run=run_explain)

    diagram = commands.add_parser(
        "diagram", help="the drawing of the network (a CNN: its layers in a row), as SVG or PNG",
        description="Draw the network the way the lesson does: the 28x28 image, the flatten strip, "
        "the hidden neurons and the outputs, with their connections and counts. Given a trained "
        "MODEL, connections are coloured by weight.")
    diagram.add_argument("model", nargs="?", metavar="MODEL", help=".keras or .h5 file (default: the lesson's layout)")
    diagram.add_argument("--out", default="network.svg", metavar="FILE", help=".svg or .png (default: network.svg)")
    add_json_option(diagram)
    diagram.set_defaults(run=run_diagram)

    export = commands.add_parser(
        "export", help="save a model as .onnx, .keras or .h5",
        description="Convert a model: to ONNX (opset 13, for onnxruntime and other engines), to a "
        "Keras 3 .keras file, or to a legacy Keras .h5 file.")
    export.add_argument("model", metavar="MODEL", help=".keras or .h5 file")
    export.add_argument("out", metavar="OUT", help="output file: .onnx, .keras or .h5")
    add_json_option(export)
    export.set_defaults(run=run_export)


def run_explain(args):
    from ..datasets.images import load_image_file
    from ..errors import DigitlensError
    from ..viz.report import sections_for, write_report

    out = check_output(args.out, (".html", ".htm"), "--out")
    if args.image and args.index is not None:
        raise DigitlensError("give either IMAGE or --index N, not both")
    if args.label is not None and not args.image:
        raise DigitlensError("--label is the true digit of IMAGE: give an IMAGE too (a test image's label is known)")
    path = model_path(args.model)
    model = load_model(path)
    ds = load_dataset(args)
    image = label = doubt = None
    if args.image:
        image, steps = load_image_file(args.image, return_steps=True)
        doubt = steps["doubt"]
        label = args.label
        if label is not None and not 0 <= label < len(ds.class_names):
            raise DigitlensError(f"--label: expected 0..{len(ds.class_names) - 1}, received {label}")
    elif args.index is not None and not 0 <= args.index < len(ds.x_test):
        raise DigitlensError(f"--index: expected 0..{len(ds.x_test) - 1}, received {args.index}")
    write_report(model, out, image=image, label=label, x_test=ds.x_test, y_test=ds.y_test,
                 x_train=ds.x_train, index=args.index, class_names=list(ds.class_names),
                 title=f"digitlens: inside {Path(path).name}",
                 image_name=args.image, data_name=ds.describe(), doubt=doubt)
    if args.json:
        print_json({"model": str(path), "report": str(out), "doubt": doubt, "sections": list(sections_for(model))})
    else:
        if doubt:
            console(stderr=True).print(f"{args.image}: {doubt}", markup=False, style="yellow")
        console().print(f"wrote {literal(out)}: open it in a browser")
    return 0


def run_diagram(args):
    from ..viz.diagram import write_diagram

    out = check_output(args.out, (".svg", ".png"), "--out")
    path = model_path(args.model, required=False) if args.model else None
    model = load_model(path) if path else None
    write_diagram(model, out)
    if args.json:
        print_json({"model": str(path) if path else None, "diagram": str(out)})
    else:
        console().print(f"wrote {literal(out)}")
    return 0


def run_export(args):
    from ..io import EXPORT_SUFFIXES, export_onnx, save_model

    out = check_output(args.out, EXPORT_SUFFIXES, "OUT")
    model = load_model(args.model)
    if out.suffix.lower() == ".onnx":
        export_onnx(model, out)
    else:
        save_model(model, out)
    if args.json:
        print_json({"model": args.model, "out": str(out), "format": out.suffix[1:]})
    else:
        console().print(f"wrote {literal(out)}")
    return 0
