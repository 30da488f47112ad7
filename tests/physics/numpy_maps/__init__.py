"""Slow NumPy/SciPy twins of the element maps, one module per element family (test oracles,
written apart from the C kernels); each module says where its formulas come from.

ImpactX transcriptions (bends.py, drifts_quads.py): each map takes the phase-space vector
``z = (x, px, y, py, t, pt)`` (ImpactX's units and map order; arrays of any shape, real or complex so that
complex-step Jacobians work) and returns the pushed vector for ONE slice of length ``L`` [m]. The formulas are
ImpactX's, transcribed literally from src/elements/<Name>.H (BLAST-ImpactX/impactx, 2026), including their own
grouping of terms; the C kernels use regrouped, cancellation-free forms of the same expressions, so agreement
between the two checks both. ``beta``, ``gamma`` are the reference particle's.
"""

from __future__ import annotations
