"""What the web app remembers: one session per browser, each with its model and training job.

A teacher serves a class from one machine (`digitlens serve --host 0.0.0.0`), so one student's
upload or training must not replace another's model. Each browser gets a session cookie; its
tabs share one `Session`, which starts with the teacher's model (the one `serve` started with)
and changes only for that browser: when it loads a file or its training job ends.

A session's model is published as a `Snapshot` - the model, where it came from, its version and
class names - that is never changed afterwards. A request takes the current snapshot once and
computes with it, without a lock: predicting keeps nothing on the layers (nn/layer.py), so any
number of requests may run through one model at once, and a model swap is one assignment that a
request sees either wholly or not at all. Whatever changes a model (a backprop step, training)
works on its own copy.

What the server keeps is bounded: at most `max_sessions` sessions (the longest unused one without
a running job makes way), and at most `model_budget` bytes of models of their own (beyond it the
longest unused session goes back to the teacher's model). Left out: accounts and passwords - a
session is a browser, not a person.
"""

import collections
import dataclasses
import re
import secrets
import threading
import time

from ..errors import DigitlensError

COOKIE = "digitlens_session"
COOKIE_PATTERN = re.compile(r"[A-Za-z0-9_-]{24}")
MAX_SESSIONS = 200                  # a class of 30 with plenty of room for reloads and stray tabs
MODEL_BUDGET = 2 * 2**30            # bytes of models sessions keep of their own (the lesson's: 5 MB)


class Conflict(DigitlensError):
    """The request is fine but the app is not in a state to answer it (HTTP 409)."""


class NotFound(DigitlensError):
    """There is no such thing: a test image past the end of the test set (HTTP 404)."""


class Busy(DigitlensError):
    """The server is doing as much of this as it takes at once: try again shortly (HTTP 429)."""


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """One published version of a session's model; never changed once a request can see it."""

    model: object
    origin: str                     # for people: "loaded from mnist.keras"
    version: int                    # grows with every change, so the page knows to ask again
    class_names: tuple
    cache: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)
    lock: object = dataclasses.field(default_factory=threading.Lock, compare=False, repr=False)

    def cached(self, key, compute):
        """compute() once for this model (evaluating on the test set takes a moment); the cache
        goes with the model, so every session showing the teacher's model shares it."""
        with self.lock:
            if key not in self.cache:
                self.cache[key] = compute()
            return self.cache[key]


def publish(model, origin, version):
    """A Snapshot of `model`, which from now on nobody may change."""
    model._require_built()
    names = getattr(model, "class_names", None)
    names = tuple(str(name) for name in names) if names else tuple(str(i) for i in range(model.output_shape[-1]))
    return Snapshot(model, origin, version, names)


def model_bytes(model):
    """About how much memory a model holds: its weights, their gradients and an optimizer's state."""
    return 4 * model.params.nbytes + model.state.nbytes


class Session:
    """One browser: the model its tabs show and its training job."""

    def __init__(self, classroom, session_id, current=None):
        self.classroom = classroom
        self.id = session_id
        self.current = current          # the Snapshot every tab shows, or None: no model yet
        self.job = None                 # the training job, queued, running or finished
        self.own = False                # the model is this session's own (not the teacher's)
        self.changes = threading.Lock()  # one change a browser asks for at a time (train, load)
        self.used = time.monotonic()
        self._lock = threading.Lock()   # for changes only: readers take `current` as it is
        self._versions = current.version if current is not None else 0

    @property
    def after_training(self):
        return self.classroom.after_training

    def snapshot(self):
        """The current Snapshot, or a 409 saying how to get a model."""
        current = self.current
        if current is None:
            raise Conflict("there is no model yet: train one in the Train tab or load a .keras file")
        return current

    def set_model(self, model, origin, only_if_version=None):
        """Publish `model` as this session's; returns False (and changes nothing) if
        `only_if_version` is given and the session's model is no longer that version."""
        with self._lock:
            version = self.current.version if self.current is not None else 0
            if only_if_version is not None and version != only_if_version:
                return False
            self._versions += 1
            self.current = publish(model, origin, self._versions)
            self.own = True
        self.classroom.keep_within_budget(self)
        return True

    def reset(self, origin):
        """Back to the teacher's model (the budget of models was spent on busier sessions)."""
        with self._lock:
            default = self.classroom.default
            self._versions += 1
            self.current = (dataclasses.replace(default, origin=origin, version=self._versions)
                            if default is not None else None)
            self.own = False

    def dataset(self):
        return self.classroom.dataset()

    def class_names(self):
        current = self.current
        return list(current.class_names) if current is not None else [str(i) for i in range(10)]


class Classroom:
    """Every session, the teacher's model they start with, the dataset and the training queue."""

    def __init__(self, model=None, data_dir=None, dataset=None, origin="given at start", after_training=None,
                 max_sessions=MAX_SESSIONS, model_budget=MODEL_BUDGET, training_slots=1):
        from .queue import TrainingQueue

        self.default = publish(model, origin, 1) if model is not None else None
        self.data_dir = data_dir
        self._dataset = dataset
        self._data_lock = threading.Lock()
        self.after_training = after_training   # called with each model a training job finishes
        self.max_sessions = max_sessions
        self.model_budget = model_budget
        self.queue = TrainingQueue(slots=training_slots, max_waiting=max_sessions)
        self.sessions = collections.OrderedDict()   # id -> Session, least recently used first
        self._lock = threading.Lock()

    def session(self, session_id, create=False):
        """The browser's Session. Without `create`, a browser that has none yet gets a passing one
        that shows the teacher's model and is not kept: only a change (a file, a job) keeps one."""
        with self._lock:
            session = self.sessions.get(session_id)
            if session is not None:
                self.sessions.move_to_end(session_id)
                session.used = time.monotonic()
                return session
            session = Session(self, session_id, self.default)
            if create:
                self._make_room()
                self.sessions[session_id] = session
            return session

    def _make_room(self):
        while len(self.sessions) >= self.max_sessions:
            idle = next((sid for sid, s in self.sessions.items() if not (s.job and s.job.active)), None)
            if idle is None:
                raise Busy(f"the server keeps {self.max_sessions} sessions and every one is training: "
                           "try again when a job has finished")
            del self.sessions[idle]

    def keep_within_budget(self, keep):
        """Send the longest unused sessions back to the teacher's model until the models sessions
        own take at most `model_budget` bytes (never `keep`, which has just changed)."""
        with self._lock:
            owners = [s for s in self.sessions.values() if s.own and s is not keep]
            total = sum(model_bytes(s.current.model) for s in owners)
            total += model_bytes(keep.current.model) if keep.own and keep.current is not None else 0
            for session in owners:                         # least recently used first
                if total <= self.model_budget:
                    break
                total -= model_bytes(session.current.model)
                session.reset("the class's model: the server needed the room your model took")

    def dataset(self):
        """The dataset (MNIST unless told otherwise), read once on first use.

        It never downloads here - a request would wait minutes - `digitlens serve` does that at
        start-up. If the data is still missing, the error says how to get it.
        """
        with self._data_lock:
            if self._dataset is None:
                from ..datasets import mnist
                from ..errors import DataError

                try:
                    self._dataset = mnist.load_dataset(self.data_dir, download=False, progress=False)
                except DataError as error:
                    raise DataError(f"this needs the MNIST data, which the app does not have ({error}): "
                                    "stop it and start 'digitlens serve' again with --data DIR, or with "
                                    "the network on so it can download MNIST first") from None
            return self._dataset


def new_session_id():
    return secrets.token_urlsafe(18)          # 24 characters of [A-Za-z0-9_-]


class SessionCookies:
    """ASGI middleware: give each browser a session id in a cookie, and each request its id
    (request.scope["digitlens.session"]). The cookie is HttpOnly (scripts cannot read it) and
    SameSite=Strict (other sites' pages cannot send it)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from starlette.requests import cookie_parser

        cookie = b"; ".join(value for key, value in scope["headers"] if key == b"cookie").decode("latin-1")
        session_id = cookie_parser(cookie).get(COOKIE, "")
        if COOKIE_PATTERN.fullmatch(session_id):
            scope["digitlens.session"] = session_id
            return await self.app(scope, receive, send)
        session_id = scope["digitlens.session"] = new_session_id()
        header = (b"set-cookie", f"{COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Strict".encode())

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + [header]
            await send(message)

        return await self.app(scope, receive, send_with_cookie)
