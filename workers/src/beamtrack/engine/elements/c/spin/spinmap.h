/* Spin through a SpinMap (ImpactX 26.10's SpinMap::spin_and_phasespace_push): first the rotation
 * lambda = A z of the orbit z = (x, px, y, py, t, pt), then the design rotation v; the phase space is
 * unchanged. Source: ImpactX src/elements/SpinMap.H (26.06; 26.10 the same, checked per particle by
 * tests/oracle/test_spin_oracle.py). */
#ifndef BEAMTRACK_SPIN_SPINMAP_H
#define BEAMTRACK_SPIN_SPINMAP_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/spinmap.h"

BT_FN void SpinMap_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void SpinMap_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const* A = op->c;
    double const z[6] = {p->x, p->px, p->y, p->py, p->t, p->pt};
    double l[3];
    for (int i = 0; i < 3; ++i)
        l[i] = A[6 * i] * z[0] + A[6 * i + 1] * z[1] + A[6 * i + 2] * z[2] + A[6 * i + 3] * z[3]
               + A[6 * i + 4] * z[4] + A[6 * i + 5] * z[5];
    bt_rotate_spin(l[0], l[1], l[2], s);
    bt_rotate_spin(SpinMap_vx(op), SpinMap_vy(op), SpinMap_vz(op), s);
    SpinMap_push(op, aux, p);
}
#endif
