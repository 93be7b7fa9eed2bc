"""Import every layer family so that each registers its types; the build imports only this."""

from caffemem.layers import (  # noqa: F401
    conv,
    data,
    forks,
    inner_product,
    loss,
    neuron,
    normalization,
    pooling,
    recurrent,
    shape_ops,
)
