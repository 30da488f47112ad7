/* PlaneXYRot (rotation of the transverse plane about s by angle phi; ImpactX's PlaneXYRot):
 * (x, y) -> (x cos phi - y sin phi, x sin phi + y cos phi), the same for (px, py).
 * Source: ImpactX src/elements/PlaneXYRot.H. PlaneXYRot_angle(op) [deg]. */
#ifndef BEAMTRACK_PLANEXYROT_H
#define BEAMTRACK_PLANEXYROT_H
#include "beamtrack/engine/kernels/bt_common.h"

BT_FN void PlaneXYRot_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const phi = PlaneXYRot_angle(op) * (3.14159265358979323846 / 180.0);
    op->c[0] = cos(phi);
    op->c[1] = sin(phi);
}

BT_FN void PlaneXYRot_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const c = op->c[0], s = op->c[1];
    double const x = p->x, y = p->y, px = p->px, py = p->py;
    p->x = x * c - y * s;
    p->y = x * s + y * c;
    p->px = px * c - py * s;
    p->py = px * s + py * c;
}
#endif
