"""`digitlens serve`: the web app - draw a digit and watch the network think."""

from .common import add_data_option, last_model


def add_parsers(commands):
    parser = commands.add_parser(
        "serve", help="the web app: draw digits, inspect neurons, train live",
        description="Start the local web app. With no MODEL it uses the last model 'digitlens train' "
        "saved, or trains the lesson's network first. MNIST (for the Train and Model & data tabs) is "
        "read before the app starts, and downloaded with a progress bar if it is not there yet; with "
        "no network the app starts anyway and says what is missing. Binds 127.0.0.1 unless --host "
        "says otherwise.")
    parser.add_argument("model", nargs="?", metavar="MODEL", help=".keras or .h5 file")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    add_data_option(parser)
    parser.set_defaults(run=run)


def run(args):
    from ..web import serve

    model = args.model or (str(last_model()) if last_model() else None)
    serve(model_path=model, host=args.host, port=args.port, open_browser=args.open, data_dir=args.data)
    return 0
