"""Import every layer family so that each registers its types; the build imports only this."""

from caffemem.layers import (  # noqa: F401
    conv,
    data,
    detection,
    inner_product,
    loss,
    neuron,
    normalization,
    pooling,
    rearrange,
    recurrent,
    shape_ops,
)
