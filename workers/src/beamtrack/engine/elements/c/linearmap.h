/* LinearMap: a 6x6 matrix R on (x, px, y, py, t, pt) (ImpactX's ordering), stored row-major in c[0..35].
 * Also the kernel of composed linear segments and of maps integrated along the reference orbit
 * (RFCavity, SoftSolenoid, SoftQuadrupole): Python fills c directly, setup leaves it alone. */
#ifndef BEAMTRACK_LINEARMAP_H
#define BEAMTRACK_LINEARMAP_H
#include "beamtrack/engine/kernels/bt_common.h"

BT_FN void LinearMap_setup(bt_op* op, const double* aux)
{
    (void)op;
    (void)aux;
}

BT_FN void LinearMap_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const* R = op->c;
    double const v[6] = {p->x, p->px, p->y, p->py, p->t, p->pt};
    double o[6];
    for (int i = 0; i < 6; ++i) {
        o[i] = R[6 * i] * v[0] + R[6 * i + 1] * v[1] + R[6 * i + 2] * v[2]
             + R[6 * i + 3] * v[3] + R[6 * i + 4] * v[4] + R[6 * i + 5] * v[5];
    }
    p->x = o[0]; p->px = o[1]; p->y = o[2]; p->py = o[3]; p->t = o[4]; p->pt = o[5];
}
#endif
