/* Spin through a SpinMap (ImpactX 26.10's SpinMap::spin_and_phasespace_push): first the rotation
 * lambda = A z of the orbit z = (x, px, y, py, t, pt), then the design rotation v; the phase space is
 * unchanged. Source: ImpactX src/elements/SpinMap.H (26.06; 26.10 the same, checked per particle by
 * tests/oracle/test_spin_oracle.py). */
#ifndef BEAMTRACK_SPIN_SPINMAP_H
#define BEAMTRACK_SPIN_SPINMAP_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/spinmap.h"
#include "beamtrack/engine/elements/c/spin/coupling.h"

BT_FN void SpinMap_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void SpinMap_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    bt_spin_orbit_rotation(op->c, p, s);
    bt_rotate_spin(SpinMap_vx(op), SpinMap_vy(op), SpinMap_vz(op), s);
    SpinMap_push(op, aux, p);
}
#endif
