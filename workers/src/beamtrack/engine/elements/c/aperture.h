/* Aperture (thin collimator; ImpactX's Aperture): a particle is lost when it is outside
 * (action transmit) or inside (action absorb) the rectangle |x| <= ax, |y| <= ay or the ellipse
 * (x/ax)^2 + (y/ay)^2 <= 1; with repeat_x / repeat_y > 0 the shape repeats with that period
 * (coordinates folded to the fundamental cell: u = fmod(|x| + rx/2, rx) - rx/2); shift_odd_x
 * shifts x by rx/2 on rows with odd floor((y + ry/2) / ry) (hexagonal masks). Coordinates are not
 * changed. Source: ImpactX src/elements/Aperture.H.
 * Aperture_aperture_x(op), Aperture_aperture_y(op), Aperture_repeat_x(op), Aperture_repeat_y(op) [m],
 * Aperture_shape(op) (0 rectangular, 1 elliptical), Aperture_action(op) (0 transmit, 1 absorb),
 * Aperture_shift_odd_x(op) (0/1). */
#ifndef BEAMTRACK_APERTURE_H
#define BEAMTRACK_APERTURE_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = 1 / aperture_x, c[1] = 1 / aperture_y */
BT_FN void Aperture_setup(bt_op* op, const double* aux)
{
    (void)aux;
    op->c[0] = 1.0 / Aperture_aperture_x(op);
    op->c[1] = 1.0 / Aperture_aperture_y(op);
}

BT_FN void Aperture_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const rx = Aperture_repeat_x(op), ry = Aperture_repeat_y(op);
    double sx = p->x;
    if (Aperture_shift_odd_x(op) != 0.0 && fmod(floor((p->y + 0.5 * ry) / ry), 2.0) != 0.0) sx += 0.5 * rx;
    double u = (rx == 0.0) ? sx : fmod(fabs(sx) + 0.5 * rx, rx) - 0.5 * rx;
    double v = (ry == 0.0) ? p->y : fmod(fabs(p->y) + 0.5 * ry, ry) - 0.5 * ry;
    u *= op->c[0];
    v *= op->c[1];
    int const inside = (Aperture_shape(op) == 0.0) ? (u * u <= 1.0 && v * v <= 1.0) : (u * u + v * v <= 1.0);
    int const lose = (Aperture_action(op) == 0.0) ? !inside : inside;
    if (lose) p->lost = 1;
}
#endif
