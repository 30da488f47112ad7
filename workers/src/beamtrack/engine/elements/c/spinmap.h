/* SpinMap: a thin user spin map (ImpactX 26.10's SpinMap); the phase space is unchanged.
 * The spin push is in spin/spinmap.h. p[0..2] = v (design rotation vector [rad]), c[0..17] = A (3x6
 * spin-orbit coupling on (x, px, y, py, t, pt), row-major), filled by Python; setup leaves them alone. */
#ifndef BEAMTRACK_SPINMAP_H
#define BEAMTRACK_SPINMAP_H
#include "beamtrack/engine/kernels/bt_common.h"
BT_FN void SpinMap_setup(bt_op* op, const double* aux)
{
    (void)op;
    (void)aux;
}
BT_FN void SpinMap_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)op;
    (void)aux;
    (void)p;
}
#endif
