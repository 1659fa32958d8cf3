"""How much a model file may hold: the limits every reader in digitlens.io enforces.

A model file can come from anywhere - a download, a colleague, an upload to the web app - and a
small file can claim gigabytes: a zip entry that says it unpacks to 4 GB, an HDF5 array of
compressed zeros, a config whose Dense layer has five million units. So the readers compare what
a file declares with these limits, and with what the file really holds, before they allocate.

The lesson's network with Adam's state takes about 2.5 MB; the limits leave room for much bigger
experiments and still fit in a laptop's memory. The web app refuses uploads with the same numbers.
"""

MAX_MODEL_BYTES = 512 * 2**20   # a model file, its zip entries unpacked, and all its arrays
MAX_ZIP_ENTRIES = 64            # Keras writes 3 entries, digitlens 4
