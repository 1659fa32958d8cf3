"""How much a model file may hold: the limits every reader in digitlens.io enforces.

A model file can come from anywhere - a download, a colleague, an upload to the web app - and a
small file can claim gigabytes: a zip entry that says it unpacks to 4 GB, an HDF5 array of
compressed zeros, a config whose Dense layer has five million units, a weights entry padded with
500 MB of zeros behind 2 MB of real weights. So the readers compare what a file declares with
these limits, and with what the file really holds or its own config needs, before they allocate.

The lesson's network with Adam's state takes about 2.5 MB; the limits leave room for much bigger
experiments and still fit in a laptop's memory. A reader may be given a lower `max_bytes` (the
web app gives WEB_MODEL_BYTES, since anyone's browser can send it a file).

    weights_allowance(planned)   the most bytes an honest weights file of `planned` bytes of weights
                                 takes: the weights, an optimizer's state (Adam keeps two more
                                 arrays per weight), and HDF5's own headers
"""

MAX_MODEL_BYTES = 512 * 2**20   # a model file, its zip entries unpacked, and all its arrays
MAX_ZIP_ENTRIES = 64            # Keras writes 3 entries, digitlens 4
MAX_CONFIG_BYTES = 4 * 2**20    # config.json: a few KB for the lesson, ~2 KB more per layer
MAX_EXTRAS_BYTES = 64 * 2**20   # digitlens.json (the training history): larger ones are left off
WEB_MODEL_BYTES = 64 * 2**20    # what the web app accepts: a model file unpacked, and its arrays
HDF5_OVERHEAD_BYTES = 2**20     # HDF5's headers, B-trees and names beside the arrays (KBs per layer)
STATE_ARRAYS = 3                # weights + at most two optimizer arrays per weight (Adam's m and v)


def weights_allowance(planned, layers=0):
    """The most bytes a weights file holding `planned` bytes of weights (and an optimizer's state
    for them) can honestly take, for a model of `layers` layers."""
    return STATE_ARRAYS * planned + HDF5_OVERHEAD_BYTES + 16 * 2**10 * layers
