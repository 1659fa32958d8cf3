"""The API for training: start one job, watch it live, pause, resume or stop it.

    POST /api/train                 start training a fresh model (409 while another job runs)
    GET  /api/train                 the job's state, settings, last progress and epochs
    GET  /api/train/events?since=N  the job's events as Server-Sent Events, from number N on
    POST /api/train/pause | resume | stop
    POST /api/train/undo            go back to the model the finished job replaced
    POST /api/train/keep            keep the job's model (the one before is forgotten)

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
from .schemas import TrainSettings
from .session import Conflict
from .training import TrainingJob

router = APIRouter(prefix="/api/train", tags=["training"])

HEARTBEAT_SECONDS = 15


def current_job(session):
    if session.job is None:
        raise Conflict("no training job has been started: POST /api/train first")
    return session.job


@router.post("", status_code=202, summary="Train a fresh model from random weights")
def start(settings: TrainSettings, request: Request):
    """Starts training in the background; the result replaces the current model when it ends."""
    session = session_of(request)
    dataset = session.dataset()     # read once, the first time (seconds): not while holding the model
    with session.lock:
        if session.job is not None and session.job.active:
            raise Conflict("a training job is already running: stop it first (POST /api/train/stop)")
        seed = settings.seed if settings.seed is not None else random.randrange(10_000)
        hidden = ([[layer.units, layer.activation] for layer in settings.hidden] if settings.hidden
                  else [[settings.hidden_units, settings.activation]])
        job_settings = {"hidden": hidden, "recipe": settings.recipe,
                        "epochs": settings.epochs, "batch_size": settings.batch_size,
                        "optimizer": settings.optimizer, "learning_rate": settings.learning_rate,
                        "momentum": settings.momentum,
                        "samples": min(settings.samples, len(dataset.x_train)), "seed": seed}

        def finished(model, note):
            with session.lock:
                previous = (session.model, session.origin) if session.model is not None else None
                session.set_model(model, note)
                job.handed_over(previous, session.version)
            if session.after_training is not None:
                session.after_training(model)

        job = TrainingJob(job_settings, dataset, finished)
        session.job = job.start()
    return send(session.job.status(), status=202)


@router.get("", summary="The training job's state")
def status(request: Request):
    return send(current_job(session_of(request)).status())


@router.post("/pause", summary="Pause training between two steps")
def pause(request: Request):
    job = current_job(session_of(request))
    job.pause()
    return send({"state": job.state})


@router.post("/resume", summary="Resume paused training")
def resume(request: Request):
    job = current_job(session_of(request))
    job.resume()
    return send({"state": job.state})


@router.post("/stop", summary="Stop training after the current step")
def stop(request: Request):
    job = current_job(session_of(request))
    job.stop()
    return send({"state": job.state})


@router.get("/events", summary="The job's events as Server-Sent Events",
            response_class=StreamingResponse)
async def events(request: Request, since: int = Query(0, ge=0)):
    """A text/event-stream: each event is `id: N`, `event: TYPE` and `data: {json}`; the stream
    ends after the `done` event. Types: start, progress, weights, epoch, state, done."""
    job = current_job(session_of(request))
    last = request.headers.get("last-event-id")
    if last is not None and last.isdigit():
        since = int(last) + 1

    async def stream():
        position = since
        waited = 0.0
        while True:
            batch, ended = await asyncio.to_thread(job.events_since, position, 0.25)
            for event in batch:
                yield f"id: {event['id']}\nevent: {event['type']}\ndata: {json_text(event)}\n\n"
            position += len(batch)
            if ended:
                return
            waited = 0.0 if batch else waited + 0.25
            if waited >= HEARTBEAT_SECONDS:
                waited = 0.0
                yield ": still here\n\n"
            if await request.is_disconnected():
                return

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/undo", summary="Go back to the model the finished job replaced")
def undo(request: Request):
    """Every tab goes back to the model that was there before the job's (a new version); the job's
    model is dropped. 409 if the job's model is no longer the current one or was kept."""
    session = session_of(request)
    job = current_job(session)
    with session.lock:
        if not job.can_undo(session.version):
            raise Conflict("nothing to undo: the trained model was kept, or another model has replaced it since")
        model, origin = job.previous
        job.keep()
        session.set_model(model, origin)
        job.model_version = None
        version = session.version
    if session.after_training is not None:
        session.after_training(model)         # serve() starts next time with the model gone back to
    return send({"state": job.state, "version": version, "origin": origin})


@router.post("/keep", summary="Keep the finished job's model")
def keep(request: Request):
    """The job's model stays and the one before it is forgotten (undo is no longer possible)."""
    session = session_of(request)
    job = current_job(session)
    with session.lock:
        job.keep()
    return send({"state": job.state, "version": session.version})
