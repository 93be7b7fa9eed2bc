"""Loading a ``.caffemodel``: what the file holds against the net, and what parsing it costs.

Caffe parses the whole file into one NetParameter before copying blobs into the net
(``Net::CopyTrainedLayersFrom``), so at that moment both the parsed file (every layer in it, used
or not) and the net's own parameters are in memory. The transient copy is category
``weights_loading``.
"""

from __future__ import annotations

from caffemem.net.analyze import Analysis


def weights_loading(analysis: Analysis, path: str) -> tuple[object, int]:
    """(match of the file against the first net, bytes held while loading it)."""
    from caffemem.net.caffemodel import read_caffemodel
    from caffemem.net.weights import loading_bytes, match_weights

    info = read_caffemodel(path)
    match = None
    for net in analysis.nets:
        match = match_weights(net, info)  # raises NetError on a shape mismatch, as Caffe does
    return match, loading_bytes(info)
