"""Slow NumPy/SciPy twins of the element maps, one module per element family (test oracles,
written apart from the C kernels); each module says where its formulas come from.
"""

from __future__ import annotations
