/* PolygonAperture (thin collimator bounded by a polygon; ImpactX's PolygonAperture): a particle at
 * (u, v) is inside when u^2 + v^2 < min_radius2 or when the angles subtended at it by the polygon's
 * edges sum to a winding number |sum / (2 pi)| > 1e-12 (arg(conj(z_i) z_{i+1}), z_k = w - V_k over
 * the closed vertex list); it is lost outside (action transmit) or inside (action absorb). With
 * repeat_x / repeat_y > 0 the polygon repeats with that period (u = fmod(|x| + rx/2, rx) - rx/2);
 * shift_odd_x shifts x by rx/2 on rows with odd floor((y + ry/2) / ry). Coordinates are not changed.
 * Formulas: ImpactX src/elements/PolygonAperture.H (26.10).
 * PolygonAperture_min_radius2(op) [m^2], PolygonAperture_repeat_x(op), PolygonAperture_repeat_y(op) [m],
 * PolygonAperture_shift_odd_x(op) (0/1),
 * PolygonAperture_action(op) (0 transmit, 1 absorb); aux[aux_offset ..]: the n vertices' x then their y.
 */
#ifndef BEAMTRACK_POLYGONAPERTURE_H
#define BEAMTRACK_POLYGONAPERTURE_H
#include "beamtrack/engine/kernels/bt_common.h"

BT_FN void PolygonAperture_setup(bt_op* op, const double* aux)
{
    (void)op;
    (void)aux;
}

BT_FN void PolygonAperture_push(const bt_op* op, const double* aux, bt_part* p)
{
    double const rx = PolygonAperture_repeat_x(op), ry = PolygonAperture_repeat_y(op);
    double const hx = 0.5 * rx, hy = 0.5 * ry;
    double sx = p->x;
    double const sy = p->y;
    if (PolygonAperture_shift_odd_x(op) != 0.0 && fmod(floor((sy + hy) / ry), 2.0) != 0.0) sx += hx;
    double const u = (rx == 0.0) ? sx : fmod(fabs(sx) + hx, rx) - hx;
    double const v = (ry == 0.0) ? sy : fmod(fabs(sy) + hy, ry) - hy;
    int inside = 1;
    if (!(u * u + v * v < PolygonAperture_min_radius2(op))) {
        int64_t const n = op->aux_len / 2;
        const double* vx = aux + op->aux_offset;
        const double* vy = vx + n;
        double sum = 0.0;
        for (int64_t i = 0; i + 1 < n; ++i) {
            double const a1 = u - vx[i], b1 = v - vy[i];
            double const a2 = u - vx[i + 1], b2 = v - vy[i + 1];
            sum += atan2(b2 * a1 - a2 * b1, a2 * a1 + b2 * b1);
        }
        inside = fabs(sum / (2.0 * 3.14159265358979323846)) > 1.0e-12;
    }
    int const lose = (PolygonAperture_action(op) == 0.0) ? !inside : inside;
    if (lose) p->lost = 1;
}
#endif
