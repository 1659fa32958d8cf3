"""What one drawing update of the Draw tab costs: bytes sent back and the server's time, per model.

    .venv/bin/python benchmarks/web_draw.py [MODEL.keras ...] [--updates 40]

For each model (default: the lesson's network and the course's CNN, both untrained - the sizes
and times do not depend on the weights; pass a trained file to see its own), the script draws a
"7" stroke by stroke as the page does (a 112 x 112 PNG data URL, as draw.js sends it) and posts
each state to /api/predict in process (FastAPI's TestClient), then one click on a feature map
(/api/maps/detail). It prints the median and 90th percentile of the response's bytes and the
server's own time (the Server-Timing header), and, for a CNN, the size of each layer's maps (a PNG
data URL, what the page is sent) beside what raw bytes in base64 would take. A shared machine is noisy: read
the figures as indicative.
"""

import argparse
import base64
import io
import statistics
import sys

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from digitlens import nn, recipes
from digitlens.io import load_model
from digitlens.web.app import create_app

SEND_SIDE = 112


def strokes(updates):
    """The board after each of `updates` pen moves drawing a 7, as PNG data URLs of 112 x 112."""
    path = [(27, 25), (91, 25), (68, 60), (54, 100)]
    points = []
    for (ax, ay), (bx, by) in zip(path, path[1:]):
        points += [(ax + (bx - ax) * t / (updates // 3), ay + (by - ay) * t / (updates // 3)) for t in range(updates // 3)]
    image = Image.new("L", (SEND_SIDE, SEND_SIDE), 0)
    pen = ImageDraw.Draw(image)
    for a, b in zip(points, points[1:]):
        pen.line([a, b], fill=255, width=9)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        yield "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def raw_base64_bytes(packed):
    """What the maps would take as raw bytes (one a value) in base64, for comparison."""
    return 4 * -(-int(np.prod(packed["shape"])) // 3)


def measure(name, model, updates):
    client = TestClient(create_app(model), base_url="http://127.0.0.1:8000")
    sizes, times, answer = [], [], None
    for url in strokes(updates):
        response = client.post("/api/predict", json={"image": url})
        response.raise_for_status()
        sizes.append(len(response.content))
        times.append(float(response.headers["server-timing"].split("dur=")[1]))
        answer = response.json()
    q90 = lambda xs: float(np.percentile(xs, 90))                    # noqa: E731
    print(f"{name}: {len(sizes)} drawing updates: {statistics.median(sizes):,.0f} bytes (90%: {q90(sizes):,.0f}), "
          f"server {statistics.median(times):.1f} ms (90%: {q90(times):.1f})")
    for m in answer["maps"]:
        raw = int(np.prod(m["pixels"]["shape"]))
        print(f"    {m['name']} {m['pixels']['shape']}: {raw:,} values in a {len(m['pixels']['png']):,}-byte PNG data URL "
              f"(raw bytes in base64 would be {raw_base64_bytes(m['pixels']):,})")
    if answer["maps"]:
        m = answer["maps"][0]
        detail_times, detail_sizes = [], []
        for _ in range(10):
            r = client.post("/api/maps/detail", json={"pixels": answer["image"], "layer": m["position"], "channel": 0})
            r.raise_for_status()
            detail_sizes.append(len(r.content))
            detail_times.append(float(r.headers["server-timing"].split("dur=")[1]))
        print(f"    a click on a map (/api/maps/detail): {statistics.median(detail_sizes):,.0f} bytes, "
              f"server {statistics.median(detail_times):.1f} ms")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help=".keras or .h5 files (default: the lesson's network and the course's CNN)")
    parser.add_argument("--updates", type=int, default=40, help="drawing updates per model")
    args = parser.parse_args(argv)
    if args.models:
        for path in args.models:
            measure(path, load_model(path), args.updates)
    else:
        measure("the lesson's network (Dense 256 relu, Dense 10)", recipes.build_model(seed=0).build(), args.updates)
        measure("the course's CNN (Conv2D 32 3x3, MaxPool 2x2, Dense 128, Dense 10)", nn.cnn_model(seed=0).build(),
                args.updates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
