/* Spin through a QuadEdge (ImpactX 26.10's QuadEdge::spin_and_phasespace_push; its 26.10 source is not public,
 * the map was identified on ImpactX 26.10 itself: per particle, the rotation taken from the images of three basis
 * spins, agreeing exactly (0 difference) for protons at 250 MeV and electrons at 2 GeV, entry and exit, g of either
 * sign; tests/oracle/test_spin_oracle.py): one rotation about s by the longitudinal fringe field,
 *   lambda = (0, 0, -flag (1 + G) g x y)   (flag +1 entry, -1 exit; g [1/m^2]),
 * of the entry coordinates, then the phase-space map. */
#ifndef BEAMTRACK_SPIN_QUADEDGE_H
#define BEAMTRACK_SPIN_QUADEDGE_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/quadedge.h"

BT_FN void QuadEdge_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void QuadEdge_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const c = -QuadEdge_flag(op) * (1.0 + op->p[BT_P_GYRO]) * QuadEdge_g(op);
    bt_rotate_spin(0.0, 0.0, c * p->x * p->y, s);
    QuadEdge_push(op, aux, p);
}
#endif
