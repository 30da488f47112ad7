/* The spin-orbit coupling rotation of SpinMap and of the integrated linear maps (spin/spinmap.h,
 * spin/linearmap.h; ImpactX's SpinMap, SoftSol, SoftQuad, RFCavity spin_and_phasespace_push): the rotation
 * lambda = A z of the orbit z = (x, px, y, py, t, pt), A 3x6 row-major [rad per unit of each coordinate]. */
#ifndef BEAMTRACK_SPIN_COUPLING_H
#define BEAMTRACK_SPIN_COUPLING_H
#include "beamtrack/engine/kernels/bt_spin.h"

BT_FN void bt_spin_orbit_rotation(const double* A, const bt_part* p, bt_spin* s)
{
    double const z[6] = {p->x, p->px, p->y, p->py, p->t, p->pt};
    double l[3];
    for (int i = 0; i < 3; ++i)
        l[i] = A[6 * i] * z[0] + A[6 * i + 1] * z[1] + A[6 * i + 2] * z[2] + A[6 * i + 3] * z[3]
               + A[6 * i + 4] * z[4] + A[6 * i + 5] * z[5];
    bt_rotate_spin(l[0], l[1], l[2], s);
}
#endif
