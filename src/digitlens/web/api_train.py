"""The API for training: start one job, watch it live, pause, resume or stop it.

    POST /api/train                 queue a job training a fresh model (409 while this browser's
                                    own job is queued or running); it starts when its turn comes
    GET  /api/train                 the job's state ("queued" with its "position"), settings, last
                                    progress and epochs
    GET  /api/train/events?since=N  the job's events as Server-Sent Events, from number N on
    POST /api/train/pause | resume | stop
    POST /api/train/accept          load the model a job trained when it did not replace this
                                    browser's (a file was loaded while it trained)
    POST /api/train/undo            go back to the model the finished job replaced
    POST /api/train/keep            keep the job's model (the one before is forgotten)

Each browser (session.py) has its own job; jobs take turns (queue.py), so a class pressing Train
together does not slow every drawing to a crawl.

Server-Sent Events are plain HTTP (one long response of "event:/data:" lines), so the page reads
them with the browser's EventSource and nothing extra is needed on the server. A page that
reconnects sends Last-Event-ID and continues where it stopped. Each event's data is JSON written
by common.json_text, as every other answer is: a diverging run's NaN loss arrives as null.
"""

import asyncio
import random

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from .common import json_text, send, session_of
from .schemas import TrainSettings, errors
from .session import Conflict
from .training import TrainingJob

router = APIRouter(prefix="/api/train", tags=["training"])

HEARTBEAT_SECONDS = 15
POLL_SECONDS = 0.1       # how often a stream looks for new events (a look is a few microseconds)


def current_job(session):
    if session.job is None:
        raise Conflict("no training job has been started: POST /api/train first")
    return session.job


@router.post("", status_code=202, summary="Train a fresh model from random weights",
             responses=errors(409, 413, 422, 429))
def start(settings: TrainSettings, request: Request):
    """Queues training in the background; the result replaces this browser's model when it ends
    (unless the browser loaded another model meanwhile: then POST /api/train/accept loads it)."""
    session = session_of(request, create=True)
    dataset = session.dataset()     # read once, the first time (seconds): before anything is decided
    with session.changes:           # two tabs pressing Train at once start one job
        return send(queue_job(session, settings, dataset).status(), status=202)


def queue_job(session, settings, dataset):
    if session.job is not None and session.job.active:
        raise Conflict("a training job is already running: stop it first (POST /api/train/stop)")
    seed = settings.seed if settings.seed is not None else random.randrange(10_000)
    hidden = ([[layer.units, layer.activation] for layer in settings.hidden] if settings.hidden
              else [[settings.hidden_units, settings.activation]])
    job_settings = {"hidden": hidden, "recipe": settings.recipe,
                    "epochs": settings.epochs, "batch_size": settings.batch_size,
                    "optimizer": settings.optimizer, "learning_rate": settings.learning_rate,
                    "momentum": settings.momentum,
                    "samples": min(settings.samples, len(dataset.x_train)), "seed": seed,
                    "timeline": settings.timeline}
    base = session.current

    def finished(model, note):
        replaced = session.set_model(model, note, only_if_version=base.version if base is not None else 0)
        if replaced:
            job.handed_over(base, session.current.version)     # until kept, undo goes back to `base`
            if session.after_training is not None:
                session.after_training(model)
        return replaced

    job = TrainingJob(job_settings, dataset, finished)
    session.classroom.queue.submit(job)
    session.job = job
    return job


@router.get("", summary="The training job's state", responses=errors(409))
def status(request: Request):
    return send(current_job(session_of(request)).status())


@router.post("/pause", summary="Pause training between two steps", responses=errors(409))
def pause(request: Request):
    job = current_job(session_of(request))
    job.pause()
    return send({"state": job.state})


@router.post("/resume", summary="Resume paused training", responses=errors(409))
def resume(request: Request):
    job = current_job(session_of(request))
    job.resume()
    return send({"state": job.state})


@router.post("/stop", summary="Stop training after the current step (or take it out of the queue)",
             responses=errors(409))
def stop(request: Request):
    job = current_job(session_of(request))
    job.stop()
    return send({"state": job.state})


@router.post("/accept", summary="Load the model the last job trained, if it did not replace the current one",
             responses=errors(409))
def accept(request: Request):
    session = session_of(request)        # a job, and so a model to accept, only lives in a kept session
    job = current_job(session)
    model = job.unclaimed
    if model is None:
        raise Conflict("the last training job's model is already loaded (or the job has not finished)")
    with session.changes:
        before = session.current
        session.set_model(model, (job.result or {}).get("note", "trained here").split(";")[0])
        job.unclaimed = None
        job.handed_over(before, session.current.version)      # and undo goes back to what it replaced
    return send({"version": session.current.version, "origin": session.current.origin})


@router.get("/events", summary="The job's events as Server-Sent Events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}, **errors(409, 422)})
async def events(request: Request, since: int = Query(0, ge=0, le=2**31 - 1)):
    """A text/event-stream: each event is `id: N`, `event: TYPE` and `data: {json}`; the stream
    ends after the `done` event. Types: state, start, progress, weights, epoch, done."""
    job = current_job(session_of(request))
    last = request.headers.get("last-event-id")
    if last is not None and last.isdigit() and len(last) < 10:
        since = int(last) + 1

    async def stream():
        # The job is looked at from the event loop without waiting (events_since with no timeout
        # only copies a list), so a class of streams needs no thread each.
        position = since
        waited = 0.0
        while True:
            batch, ended = job.events_since(position)
            for event in batch:
                yield f"id: {event['id']}\nevent: {event['type']}\ndata: {json_text(event)}\n\n"
            position += len(batch)
            if ended and position >= len(job.events):
                return
            if not batch:
                await asyncio.sleep(POLL_SECONDS)
            waited = 0.0 if batch else waited + POLL_SECONDS
            if waited >= HEARTBEAT_SECONDS:
                waited = 0.0
                yield ": still here\n\n"
            if await request.is_disconnected():
                return

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/undo", summary="Go back to the model the finished job replaced", responses=errors(409))
def undo(request: Request):
    """Every tab goes back to the model that was there before the job's (a new version); the job's
    model is dropped. 409 if the job's model is no longer the current one or was kept."""
    session = session_of(request)
    job = current_job(session)
    with session.changes:
        current = session.current
        if current is None or not job.can_undo(current.version):
            raise Conflict("nothing to undo: the trained model was kept, or another model has replaced it since")
        previous = job.previous
        job.keep()
        session.set_model(previous.model, previous.origin)
        job.model_version = None
        version = session.current.version
    if session.after_training is not None:
        session.after_training(previous.model)   # serve() starts next time with the model gone back to
    return send({"state": job.state, "version": version, "origin": previous.origin})


@router.post("/keep", summary="Keep the finished job's model", responses=errors(409))
def keep(request: Request):
    """The job's model stays and the one before it is forgotten (undo is no longer possible)."""
    session = session_of(request)
    job = current_job(session)
    with session.changes:
        job.keep()
    current = session.current
    return send({"state": job.state, "version": current.version if current is not None else 0})
