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
    double const x = p->x, px = p->px, y = p->y, py = p->py, t = p->t, pt = p->pt;
    /* written out (no loops over local arrays) so the particle loop vectorises */
    p->x = R[0] * x + R[1] * px + R[2] * y + R[3] * py + R[4] * t + R[5] * pt;
    p->px = R[6] * x + R[7] * px + R[8] * y + R[9] * py + R[10] * t + R[11] * pt;
    p->y = R[12] * x + R[13] * px + R[14] * y + R[15] * py + R[16] * t + R[17] * pt;
    p->py = R[18] * x + R[19] * px + R[20] * y + R[21] * py + R[22] * t + R[23] * pt;
    p->t = R[24] * x + R[25] * px + R[26] * y + R[27] * py + R[28] * t + R[29] * pt;
    p->pt = R[30] * x + R[31] * px + R[32] * y + R[33] * py + R[34] * t + R[35] * pt;
}
#endif
