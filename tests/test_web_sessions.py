"""The web app serving a class: a session per browser, training jobs in line, bounded memory.

Each TestClient is one browser (it keeps its cookie). The app starts with the "teacher's" model
(conftest's small_trained_model) and the real MNIST files. Nothing here judges speed: tests that
wait for training wait for its events, with generous timeouts.
"""

import asyncio
import threading
import time

import numpy as np
import pytest
from conftest import FIXTURES
from fastapi.testclient import TestClient

from digitlens import recipes
from digitlens.io import save_model
from digitlens.web import api_files, guard
from digitlens.web.app import create_app
from digitlens.web.session import COOKIE

BASE = "http://127.0.0.1:8000"
TIMEOUT = 300
SMALL_JOB = {"hidden_units": 16, "epochs": 1, "batch_size": 50, "samples": 500, "seed": 0}
LONG_JOB = {"hidden_units": 64, "epochs": 50, "batch_size": 1, "samples": 60000, "seed": 0}


@pytest.fixture(scope="module")
def data(mnist_dir):
    from digitlens.datasets import mnist

    return mnist.load_dataset(mnist_dir)


@pytest.fixture
def app(small_trained_model, data):
    app = create_app(small_trained_model, dataset=data, origin="the teacher's model")
    yield app
    for session in list(app.state.classroom.sessions.values()):
        if session.job is not None:
            session.job.stop()


def browser(app):
    return TestClient(app, base_url=BASE)


def session_of(app, client):
    return app.state.classroom.sessions.get(client.cookies.get(COOKIE))


def upload(client, name, content):
    return client.post("/api/model/upload", files={"file": (name, content)})


def events_until(app, client, accept, what):
    """Events of this browser's job until accept(event); fails naming `what` after TIMEOUT."""
    job = session_of(app, client).job
    deadline, position, seen = time.monotonic() + TIMEOUT, 0, []
    while time.monotonic() < deadline:
        batch, ended = job.events_since(position, timeout=0.5)
        position += len(batch)
        seen += batch
        if any(accept(event) for event in batch):
            return seen
        if ended and not batch:
            break
    pytest.fail(f"waited for {what}; the job is {job.state}, its last events: {[e['type'] for e in seen[-8:]]}")


def done(event):
    return event["type"] == "done"


def test_each_browser_has_its_own_model_starting_from_the_teachers(app):
    alice, bob = browser(app), browser(app)
    for student in (alice, bob):
        status = student.get("/api/status").json()
        assert status["model"]["origin"] == "the teacher's model" and status["model"]["params"] == 203_530
    r = upload(alice, "tanh.keras", (FIXTURES / "keras_small_tanh.keras").read_bytes())
    assert r.status_code == 200, r.text
    assert alice.get("/api/status").json()["model"]["origin"] == "loaded from tanh.keras"
    assert bob.get("/api/status").json()["model"]["origin"] == "the teacher's model"
    assert len(alice.post("/api/predict", json={"pixels": [0] * 784}).json()["layers"]) == 3
    assert len(bob.post("/api/predict", json={"pixels": [0] * 784}).json()["layers"]) == 2
    assert browser(app).get("/api/status").json()["model"]["origin"] == "the teacher's model"   # a newcomer


def test_the_session_cookie_cannot_be_read_by_scripts_or_sent_by_other_sites(app):
    cookie = browser(app).get("/").headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    forged = TestClient(app, base_url=BASE, cookies={COOKIE: "../../etc/passwd"})
    assert forged.get("/api/status").headers.get("set-cookie", "").startswith(f"{COOKIE}=")   # a new id instead


def test_a_browser_that_only_reads_costs_no_session(app):
    for _ in range(50):
        assert TestClient(app, base_url=BASE).post("/api/predict", json={"pixels": [0] * 784}).status_code == 200
    assert len(app.state.classroom.sessions) == 0


def test_sessions_and_their_models_are_bounded(small_trained_model, data, tmp_path):
    """At most max_sessions are kept (the longest unused goes first), and the models sessions own
    fit in model_budget (the longest unused goes back to the teacher's model)."""
    app = create_app(small_trained_model, dataset=data, origin="the teacher's model", max_sessions=3)
    content = (FIXTURES / "keras_small_tanh.keras").read_bytes()
    students = [browser(app) for _ in range(5)]
    for student in students:
        assert upload(student, "tanh.keras", content).status_code == 200
    assert len(app.state.classroom.sessions) == 3
    assert students[0].get("/api/status").json()["model"]["origin"] == "the teacher's model"   # forgotten
    assert students[4].get("/api/status").json()["model"]["origin"] == "loaded from tanh.keras"

    app = create_app(small_trained_model, dataset=data, origin="the teacher's model")
    classroom = app.state.classroom
    first, second, third = browser(app), browser(app), browser(app)
    assert upload(first, "tanh.keras", content).status_code == 200
    classroom.model_budget = int(2.5 * 4 * session_of(app, first).current.model.params.nbytes)   # two fit
    assert upload(second, "tanh.keras", content).status_code == 200
    before = session_of(app, first).current.version      # (asking the app would make it recently used)
    assert upload(third, "tanh.keras", content).status_code == 200
    assert [s.own for s in (session_of(app, c) for c in (first, second, third))] == [False, True, True]
    reset = first.get("/api/status").json()
    assert reset["version"] > before and "the class's model" in reset["model"]["origin"]
    assert reset["model"]["params"] == 203_530


def test_training_jobs_take_turns_with_their_position_shown(app):
    alice, bob, carol = browser(app), browser(app), browser(app)
    assert alice.post("/api/train", json=LONG_JOB).status_code == 202
    events_until(app, alice, lambda e: e["type"] == "progress", "alice's job to run")
    r = bob.post("/api/train", json=SMALL_JOB)
    assert r.status_code == 202 and r.json()["state"] == "queued" and r.json()["position"] == 1
    assert carol.post("/api/train", json=SMALL_JOB).json()["position"] == 2
    assert bob.get("/api/status").json()["training"] == {"state": "queued", "position": 1, "events": 1,
                                                         "current": True, "undo": False}
    with bob.stream("GET", "/api/train/events") as stream:         # the page sees its place in line
        first = next(line for line in stream.iter_lines() if line.startswith("data: "))
    assert '"state":"queued"' in first and '"position":1' in first

    assert bob.post("/api/train/stop").json()["state"] == "stopped"     # out of the line
    assert carol.get("/api/train").json()["position"] == 1
    seen = events_until(app, carol, lambda e: e["type"] == "state" and e.get("position") == 1, "carol moving up")
    assert seen[-1]["state"] == "queued"
    alice.post("/api/train/stop")
    events_until(app, carol, done, "carol's job to run and end after alice's")
    assert carol.get("/api/train").json()["state"] == "finished"
    assert "trained here" in carol.get("/api/status").json()["model"]["origin"]
    assert alice.get("/api/train").json()["state"] == "stopped"


def test_a_model_loaded_while_training_is_not_replaced_when_the_job_ends(app):
    alice = browser(app)
    assert alice.post("/api/train", json=LONG_JOB).status_code == 202
    events_until(app, alice, lambda e: e["type"] == "progress", "the job to run")
    assert upload(alice, "tanh.keras", (FIXTURES / "keras_small_tanh.keras").read_bytes()).status_code == 200
    alice.post("/api/train/stop")
    end = events_until(app, alice, done, "the job to end")[-1]
    assert end["state"] == "stopped" and end["replaced"] is False and "not loaded" in end["note"]
    assert alice.get("/api/status").json()["model"]["origin"] == "loaded from tanh.keras"    # kept
    accepted = alice.post("/api/train/accept")
    assert accepted.status_code == 200, accepted.text
    assert "trained here" in alice.get("/api/status").json()["model"]["origin"]
    assert alice.post("/api/train/accept").status_code == 409                              # only once


def test_predictions_run_side_by_side_and_a_model_swap_is_all_or_nothing(app, data, tmp_path):
    """Threads predict while the same browser loads one model, then another, again and again:
    every answer is exactly one model's - the one its version names - never a mixture."""
    first, second = recipes.build_model(seed=1).build(), recipes.build_model([(64, "tanh")], seed=2).build()
    digit = data.x_test[0]
    files, expected = {}, {}
    for name, model in (("first.keras", first), ("second.keras", second)):
        save_model(model, tmp_path / name)
        files[name] = (tmp_path / name).read_bytes()
        expected[name] = model.predict(digit[None])[0]
    client = browser(app)
    version_of = {client.get("/api/status").json()["version"]: None}
    answers, errors, stop = [], [], threading.Event()

    def predict():
        while not stop.is_set():
            r = client.post("/api/predict", json={"pixels": digit.tolist()})
            (answers if r.status_code == 200 else errors).append(r.json())

    threads = [threading.Thread(target=predict) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for i in range(12):
            name = ("first.keras", "second.keras")[i % 2]
            r = upload(client, name, files[name])
            assert r.status_code == 200, r.text
            version_of[r.json()["version"]] = name
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not errors, errors[:3]
    checked = 0
    for answer in answers:
        name = version_of.get(answer["version"])
        if name is None:
            continue                          # the teacher's model, before the first upload
        np.testing.assert_allclose(answer["probabilities"], expected[name], rtol=1e-5, atol=1e-7)
        checked += 1
    assert checked >= 12, f"only {checked} answers came during the swaps"


def test_uploads_are_read_two_at_a_time(app, monkeypatch):
    entered, release = threading.Semaphore(0), threading.Event()
    original = api_files.read_upload

    def slow(file, name, suffix):
        entered.release()
        release.wait(TIMEOUT)
        return original(file, name, suffix)

    monkeypatch.setattr(api_files, "read_upload", slow)
    monkeypatch.setattr(api_files, "UPLOAD_WAIT", 0.5)
    content = (FIXTURES / "keras_small_tanh.keras").read_bytes()
    results = []
    workers = [threading.Thread(target=lambda: results.append(upload(browser(app), "tanh.keras", content)))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        assert entered.acquire(timeout=60) and entered.acquire(timeout=60)     # both slots taken
        third = upload(browser(app), "tanh.keras", content)
        assert third.status_code == 429 and third.headers["retry-after"]
        assert "try again" in third.json()["detail"]
    finally:
        release.set()
        for worker in workers:
            worker.join(60)
    assert [r.status_code for r in results] == [200, 200]


# ---- the guard ------------------------------------------------------------------------------------

def test_host_and_origin_are_read_strictly(app):
    client = browser(app)
    for host in ("127.0.0.1:8000@evil.example", "127.0.0.1:8000/evil.example", "127.0.0.1 evil.example",
                 "[::1]evil.example", "127.0.0.1:80000"):
        assert client.get("/api/status", headers={"host": host}).status_code == 403, host
    for origin in ("https://127.0.0.1:8000", "http://127.0.0.1:8001", "null", "http://127.0.0.1:8000.evil.example"):
        r = client.post("/api/predict", json={"pixels": [0] * 784}, headers={"origin": origin})
        assert r.status_code == 403 and "other sites" in r.json()["detail"], origin
    ok = client.post("/api/predict", json={"pixels": [0] * 784}, headers={"origin": "http://127.0.0.1:8000"})
    assert ok.status_code == 200


def run_guard(chunks, app_receives, declared=None, path="/api/model/upload"):
    """Send `chunks` through the Guard to a fake app that reads the whole body into `app_receives`
    (a hashlib object: it keeps no bytes); returns the status."""
    headers = [(b"host", b"127.0.0.1:8000")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "scheme": "http"}
    sent = []

    async def fake_app(scope, receive, send):
        more = True
        while more:
            message = await receive()
            app_receives.update(message["body"])
            more = message["more_body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        chunk = next(chunks, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message):
        sent.append(message)

    checker = guard.Guard(fake_app, allowed_hosts={"127.0.0.1"}, limits=[("/api/model/upload", 64 * guard.MB)])
    asyncio.run(checker(scope, receive, send))
    return sent[0]["status"]


def test_a_large_body_is_kept_on_disk_not_in_memory():
    from conftest import peak_memory

    import hashlib

    piece = bytes(range(256)) * 256                  # 64 KB
    received = hashlib.sha256()
    peak = peak_memory(lambda: run_guard((piece for _ in range(160)), received))    # 10 MB, a piece at a time
    assert received.hexdigest() == hashlib.sha256(piece * 160).hexdigest()
    assert peak < 4 * guard.MB, f"the guard held {peak / guard.MB:.1f} MB of a 10 MB body"


def test_at_most_a_few_large_bodies_are_let_through_at_once():
    inside, most = 0, 0

    async def main():
        release = asyncio.Event()

        async def slow_app(scope, receive, send):
            nonlocal inside, most
            inside += 1
            most = max(most, inside)
            await release.wait()
            inside -= 1
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        checker = guard.Guard(slow_app, allowed_hosts={"127.0.0.1"}, limits=[("/", 64 * guard.MB)])
        body = b"x" * (2 * guard.MB)

        async def one():
            delivered = False

            async def receive():
                nonlocal delivered
                if delivered:
                    await asyncio.sleep(3600)
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message):
                pass

            scope = {"type": "http", "method": "POST", "path": "/api/x", "scheme": "http",
                     "headers": [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())]}
            await checker(scope, receive, send)

        tasks = [asyncio.create_task(one()) for _ in range(guard.LARGE_BODY_SLOTS + 3)]
        await asyncio.sleep(0.5)
        release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)

    asyncio.run(main())
    assert most == guard.LARGE_BODY_SLOTS


def test_a_small_body_arrives_whole_and_an_oversized_one_is_refused():
    import hashlib

    received = hashlib.sha256()
    assert run_guard(iter([b"ab", b"cd", b""]), received, path="/api/predict") == 200
    assert received.hexdigest() == hashlib.sha256(b"abcd").hexdigest()
    assert run_guard(iter([b"x" * guard.MB] * 70), hashlib.sha256(), path="/api/model/upload") == 413


def test_json_text_of_arrays_is_the_element_by_element_answer():
    """to_json's shortcut for finite arrays (tolist, no walk) gives what walking every element gives."""
    import json

    from digitlens.explain.common import to_json
    from digitlens.web.common import json_text

    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(3, 4)).astype(np.float32), rng.integers(-5, 5, (7,)), np.array([True, False]),
              np.array([1.0, np.nan, np.inf, -np.inf]), np.zeros((0, 3)), np.float64(2.5), np.uint8(7)]
    for array in arrays:
        walked = to_json(np.asarray(array).tolist())
        assert to_json(array) == walked and json.loads(json_text(array)) == walked


def test_serving_a_class_keeps_the_teachers_model_the_one_everyone_starts_with(monkeypatch, capsys):
    """On 127.0.0.1 a model trained in the app is kept for the next start; bound for a class, a
    student's training must not become the model the next class starts with."""
    import socket

    import uvicorn

    from digitlens.web import server

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(app))
    for host, kept in (("127.0.0.1", server.keep_model), ("0.0.0.0", None)):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server.serve(str(FIXTURES / "keras_small.keras"), host=host, port=port)
        assert served[-1].state.classroom.after_training is kept
    assert "each browser gets its own session" in capsys.readouterr().out
