"""Checkpoints as gradlab wrote them before safetensors (format version 1), shared by the tests that read them."""

import json

import numpy as np

from autograd.serialization import LEGACY_METADATA_KEY


def write_legacy(path, arrays, root, version=1, compress=False):
    """An ``.npz`` of ``arrays`` plus the ``__gradlab__`` entry: UTF-8 JSON describing ``root``.

    Args:
        path: the file to write.
        arrays: entry name -> array; ``root`` refers to them by name.
        root: the JSON structure (tagged nodes, as in ``autograd.serialization``).
        version: the format version written in the metadata.
        compress: write deflated entries (``np.savez_compressed``), which the legacy reader refuses.
    """
    metadata = json.dumps({"format": "gradlab-checkpoint", "version": version, "root": root}).encode()
    with open(path, "wb") as file:
        (np.savez_compressed if compress else np.savez)(
            file, **arrays, **{LEGACY_METADATA_KEY: np.frombuffer(metadata, np.uint8)})
