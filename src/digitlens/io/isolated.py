"""Reading a model file from anywhere in a child process, with a deadline and a memory cap.

The HDF5 library is C: a few damaged bytes in a legacy .h5 file (Keras writes HDF5's oldest
format, which has no checksums) can send it into an endless loop that no Python code can
interrupt, and one thread stuck that way would hold a web server's upload slot for ever. So the
web app reads an upload here: a child process loads it (with io's own checks and limits) and
saves it again as a fresh .keras file that digitlens itself wrote; the parent reads that one. A
child that takes longer than `timeout` seconds is killed, and the file is refused in one line; a
child cannot take more than CHILD_MEMORY bytes of memory.

    model = load_isolated("upload.h5", max_bytes=64 * 2**20, timeout=30)

Children come from a fork server started once (a clean process with digitlens.io imported), so
each load costs a fork, not a new interpreter. Left out: Windows, which has no fork server
(there the file is read in process, as it is inside a daemonic process, which may not start one).
"""

import multiprocessing
import os
import resource
import tempfile

from ..errors import ModelFileError

CHILD_MEMORY = 2 * 2**30
_context = None


def _get_context():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["digitlens.io", "h5py", "numpy"])
    return _context


def _child(path, out, max_bytes, pipe):
    try:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
        from . import load_model, save_model

        save_model(load_model(path, max_bytes=max_bytes), out)
        pipe.send(None)
    except MemoryError:
        pipe.send(f"{path}: reading it needs more than {CHILD_MEMORY // 2**30} GB of memory")
    except Exception as error:          # a DigitlensError's line, or the bug's name
        pipe.send(str(error) if isinstance(error, ModelFileError) else
                  f"{path}: cannot read it ({type(error).__name__}: {error})".splitlines()[0])


def load_isolated(path, max_bytes, timeout=30):
    """The model in `path`, read by a child process within `timeout` seconds (see above)."""
    from . import load_model

    if not hasattr(os, "fork") or multiprocessing.current_process().daemon:   # a daemon may not have children
        return load_model(path, max_bytes=max_bytes)
    where = os.fspath(path)
    context = _get_context()
    with tempfile.TemporaryDirectory(prefix="digitlens-read-") as folder:
        out = os.path.join(folder, "model.keras")
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(where, out, max_bytes, send), daemon=True)
        child.start()
        send.close()
        try:
            if not receive.poll(timeout):
                raise ModelFileError(f"{where}: reading it took more than {timeout} s, so it was stopped: "
                                     "the file is damaged")
            try:
                problem = receive.recv()
            except EOFError:
                raise ModelFileError(f"{where}: reading it stopped the reader (exit {child.exitcode}): "
                                     "the file is damaged") from None
        finally:
            if child.is_alive():
                child.kill()
            child.join()
            receive.close()
        if problem is not None:
            raise ModelFileError(problem)
        return load_model(out)
