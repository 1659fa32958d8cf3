"""Hearing the widgets while a cell runs: the Stop button during `model.fit`.

A Jupyter kernel runs one cell at a time on its main thread, and everything a widget sends - a
click on Stop, a stroke on the drawing pad - arrives on the same queue as the next cell, so it
waits until the running cell ends. For a training cell that is too late. `deliver()`, which
LiveTraining calls between two steps (a few times a second), takes the messages waiting for the
main thread: those addressed to a digitlens widget are handled at once, and every other message
(the next cell, when you chose "Run All"; another library's widget) is handed back to the kernel
untouched, to be handled after this cell, in the order it came.

This reaches into the kernel (ipykernel 6 and 7, the kernel of JupyterLab, Notebook, VS Code and
Colab): where the kernel is another one, or has changed, `deliver()` finds nothing and says so
once through `available()`. Interrupting the kernel (the stop button of the notebook itself)
always works: LiveTraining turns the first interrupt into a clean stop too.
"""

import asyncio
import weakref

LISTENERS = weakref.WeakValueDictionary()      # comm id -> the digitlens widget behind it
_broken = False


def listen(widget):
    """Let `widget` (an anywidget widget of digitlens) be heard while a cell runs."""
    comm = getattr(widget, "comm", None)
    if comm is not None:
        LISTENERS[comm.comm_id] = widget


def _kernel():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    return kernel if kernel is not None and getattr(kernel, "session", None) is not None else None


def _later(coroutine):
    asyncio.get_event_loop().create_task(coroutine)


def _source(kernel):
    """(the socket the main thread's shell messages wait on, a function that hands a message back
    to the kernel to be handled after the running cell)."""
    channel = getattr(kernel, "shell_channel_thread", None)
    if channel is not None:                                  # ipykernel 7: via the channel thread
        pair = channel.manager.get_shell_channel_to_subshell_pair(None)
        return pair.to_socket, lambda frames: _later(kernel.shell_main(None, frames))
    stream = kernel.shell_stream
    if hasattr(kernel, "schedule_dispatch"):                 # ipykernel 6
        return stream.socket, lambda frames: kernel.schedule_dispatch(kernel.dispatch_shell, frames)
    return stream.socket, lambda frames: _later(kernel.shell_main(None, frames))


def available():
    """True where deliver() can reach the kernel's waiting messages."""
    kernel = _kernel()
    if kernel is None or _broken:
        return False
    try:
        _source(kernel)
    except Exception:          # another kernel, or a changed one: the interrupt still works
        return False
    return True


def deliver(limit=100):
    """Handle the waiting messages of digitlens widgets now; put the rest back. Returns how many
    were handled now (0 outside a kernel)."""
    global _broken
    kernel = _kernel()
    if kernel is None or _broken or not LISTENERS:
        return 0
    import zmq

    try:
        socket, put_back = _source(kernel)
        handled = 0
        for _ in range(limit):
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            if _ours(kernel, frames):
                handled += 1
            else:
                put_back(frames)
        return handled
    except Exception:
        _broken = True         # never break the training over this: fall back to the interrupt
        return 0


def _ours(kernel, frames):
    """Handle `frames` now if it is a comm message for a digitlens widget; say whether it was."""
    session = kernel.session
    idents, rest = session.feed_identities(frames, copy=False)
    header = session.deserialize(rest, content=False, copy=False)["header"]
    if header.get("msg_type") != "comm_msg":
        return False
    message = session.deserialize(rest, content=True, copy=False)
    if message["content"].get("comm_id") not in LISTENERS:
        return False
    kernel.shell_handlers["comm_msg"](None, idents, message)
    return True
