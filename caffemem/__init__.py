"""caffemem: predict what a Caffe net will hold in memory, and explain why a run died.

The package is a library first: ``caffemem.net`` loads and builds nets the way Caffe's
``Net::Init`` does, ``caffemem.layers`` holds one shape/parameter rule per layer type, and the
command line (``caffemem.cli``) only formats what the library computes.
"""

__version__ = "0.1.0"
