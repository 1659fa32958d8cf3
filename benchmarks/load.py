"""Load benchmark of `digitlens serve`: a class drawing, uploading and watching training at once.

    .venv/bin/python benchmarks/load.py --clients 30 --seconds 30            # the class goal
    .venv/bin/python benchmarks/load.py --clients 100 --seconds 30 --json    # the stress goal

Starts `digitlens serve` (the real command, on 127.0.0.1 and a free port) with the lesson's
network, then runs N simulated students, each a browser of its own (its own session cookie):

    drawing    POST /api/predict with the drawing pad's PNG, RATE times a second, as the page does
               while a finger moves (the picture changes a little every time)
    uploading  every --upload-every seconds one student loads a .keras file (POST /api/model/upload)
    training   --trainers students start a small training job and stream its events
               (GET /api/train/events) until it ends; jobs take turns (queue.py)

and prints throughput, the p50/p99 latency of the drawings' predictions, and errors (any non-2xx
answer, or a failed connection). This is a benchmark, not a test: the numbers depend on the
machine and on what else runs on it; the load generator shares the machine's cores with the
server, as a teacher's laptop would not - the goal figures in the README are measured this way.
Sends traffic only to 127.0.0.1, and stops by itself after --seconds.
"""

import argparse
import asyncio
import base64
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def drawings(count=24):
    """PNG data URLs of a "7" being drawn, stroke by stroke, as the drawing pad sends it: drawn on
    its 336 x 336 board, sent shrunk to 112 x 112 (draw.js's SEND_SIDE)."""
    from PIL import Image, ImageDraw

    points = [(80, 70), (250, 70), (180, 180), (150, 280)]
    frames = []
    for i in range(count):
        image = Image.new("RGBA", (336, 336), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        end = 2 + (i * (len(points) - 1)) // count
        shake = i % 5
        draw.line([(x + shake, y) for x, y in points[:end]] + [points[min(end, len(points) - 1)]],
                  fill=(255, 255, 255, 255), width=24, joint="curve")
        buffer = io.BytesIO()
        image.resize((112, 112), Image.Resampling.BOX).save(buffer, format="PNG")
        frames.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    return frames


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(model_path, port, data):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    if data:
        env["DIGITLENS_DATA"] = data
    server = subprocess.Popen([sys.executable, "-m", "digitlens.cli.main", "serve", str(model_path),
                               "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"digitlens serve did not start: {server.stderr.read().decode()[-2000:]}")


class Tally:
    def __init__(self):
        self.latencies = []      # seconds, drawing predictions
        self.requests = 0
        self.errors = {}
        self.events = 0

    def error(self, what):
        self.errors[what] = self.errors.get(what, 0) + 1


async def draw(client, frames, rate, until, tally, offset):
    """One student drawing: a prediction every 1/rate s (the next one at once if one was late)."""
    period = 1.0 / rate
    at = time.monotonic() + offset
    i = offset_index = int(offset * 1000) % len(frames)
    while at < until:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        started = time.monotonic()
        try:
            r = await client.post("/api/predict", json={"image": frames[i % len(frames)]})
            tally.requests += 1
            if r.status_code == 200:
                tally.latencies.append(time.monotonic() - started)
            else:
                tally.error(f"predict HTTP {r.status_code}")
        except Exception as error:
            tally.error(f"predict {type(error).__name__}")
        i += 1
        at = max(at + period, time.monotonic() - period)
    return offset_index


async def upload(client, model_bytes, every, until, tally):
    await asyncio.sleep(every / 2)
    while time.monotonic() < until:
        try:
            r = await client.post("/api/model/upload", files={"file": ("lesson.keras", model_bytes)})
            tally.requests += 1
            if r.status_code != 200:
                tally.error(f"upload HTTP {r.status_code}")
        except Exception as error:
            tally.error(f"upload {type(error).__name__}")
        await asyncio.sleep(every)


async def train(client, until, tally):
    settings = {"hidden_units": 32, "epochs": 1, "batch_size": 100, "samples": 2000, "seed": 0}
    while time.monotonic() < until:
        try:
            r = await client.post("/api/train", json=settings)
            tally.requests += 1
            if r.status_code != 202:
                tally.error(f"train HTTP {r.status_code}")
                await asyncio.sleep(1)
                continue
            async with client.stream("GET", "/api/train/events", timeout=None) as stream:
                async for line in stream.aiter_lines():
                    if line.startswith("data: "):
                        tally.events += 1
                    if time.monotonic() > until:
                        break
            tally.requests += 1
        except Exception as error:
            tally.error(f"train {type(error).__name__}")
            await asyncio.sleep(1)


async def run(args, base, frames, model_bytes):
    import httpx

    until = time.monotonic() + args.seconds
    tally = Tally()
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    clients = [httpx.AsyncClient(base_url=base, timeout=30, limits=limits) for _ in range(args.clients)]
    tasks = []
    for n, client in enumerate(clients):
        if n < args.trainers:
            tasks.append(train(client, until, tally))
        else:
            tasks.append(draw(client, frames, args.rate, until, tally, offset=(n / args.clients) / args.rate))
    uploader = httpx.AsyncClient(base_url=base, timeout=60)
    if args.upload_every:
        tasks.append(upload(uploader, model_bytes, args.upload_every, until, tally))
    started = time.monotonic()
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    for client in clients + [uploader]:
        await client.aclose()
    return tally, elapsed


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=30, help="simulated students (default 30)")
    parser.add_argument("--rate", type=float, default=10, help="predictions a second per drawing student")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--trainers", type=int, default=2, help="students training and streaming events")
    parser.add_argument("--upload-every", type=float, default=5, help="seconds between uploads (0: none)")
    parser.add_argument("--data", default=os.environ.get("DIGITLENS_DATA") or str(REPO.parent / "shared" / "datasets" / "mnist"))
    parser.add_argument("--url", help="an already running server instead of starting one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from digitlens import recipes
    from digitlens.io import save_model

    frames = drawings()
    with tempfile.TemporaryDirectory() as folder:
        model_path = Path(folder) / "lesson.keras"
        model = recipes.build_model(seed=0).build()
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        save_model(model, model_path)
        model_bytes = model_path.read_bytes()
        server = None
        if args.url:
            base = args.url.rstrip("/")
        else:
            port = free_port()
            server = start_server(model_path, port, args.data)
            base = f"http://127.0.0.1:{port}"
        try:
            tally, elapsed = asyncio.run(run(args, base, frames, model_bytes))
        finally:
            if server is not None:
                server.terminate()
                server.wait(30)
    drawing = args.clients - min(args.trainers, args.clients)
    result = {
        "clients": args.clients, "drawing": drawing, "trainers": min(args.trainers, args.clients),
        "rate_per_client": args.rate, "seconds": round(elapsed, 1),
        "requests": tally.requests, "throughput": round(tally.requests / elapsed, 1),
        "predictions": len(tally.latencies), "asked_for": round(drawing * args.rate, 1),
        "p50_ms": round(percentile(tally.latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(tally.latencies, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(tally.latencies) * 1000, 1) if tally.latencies else None,
        "training_events": tally.events, "errors": sum(tally.errors.values()), "error_kinds": tally.errors,
        "loadavg": open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['clients']} clients ({drawing} drawing at {args.rate:g}/s, {result['trainers']} training), "
              f"{result['seconds']} s: {result['requests']:,} requests, {result['throughput']} requests/s "
              f"(drawings asked for {result['asked_for']}/s)")
        print(f"predict latency p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; "
              f"{result['training_events']:,} training events streamed; errors {result['errors']} {tally.errors or ''}")
        print(f"load average during the run: {' '.join(result['loadavg'] or [])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
