/* NonlinearLens (thin Danilov-Nagaitsev IOTA lens, MAD-X NLLENS; ImpactX's NonlinearLens):
 * with zeta = (x + i y) / cnll, dpx - i dpy = -(knll / cnll) F'(zeta),
 * F'(zeta) = zeta / (1 - zeta^2) + arcsin(zeta) / (1 - zeta^2)^(3/2),
 * arcsin(zeta) = -i log(i zeta + sqrt(1 - zeta^2)) (principal branches).
 * Source: ImpactX src/elements/NonlinearLens.H; V. Danilov, S. Nagaitsev, PRSTAB 13, 084002 (2010).
 * NonlinearLens_knll(op) [m], NonlinearLens_cnll(op) [m]. */
#ifndef BEAMTRACK_NONLINEARLENS_H
#define BEAMTRACK_NONLINEARLENS_H
#include "beamtrack/engine/kernels/bt_common.h"

/* principal complex square root of a + i b (branch cut on the negative real axis, as C99 csqrt) */
BT_FN void bt_csqrt(double a, double b, double* re, double* im)
{
    double const r = hypot(a, b);
    if (r == 0.0) { *re = 0.0; *im = b; return; }
    if (a >= 0.0) {
        double const u = sqrt(0.5 * (r + a));
        *re = u;
        *im = b / (2.0 * u);
    } else {
        double const v = copysign(sqrt(0.5 * (r - a)), b);
        *re = b / (2.0 * v);
        *im = v;
    }
}

BT_FN void bt_cdiv(double a, double b, double c, double d, double* re, double* im)
{
    double const den = c * c + d * d;
    *re = (a * c + b * d) / den;
    *im = (b * c - a * d) / den;
}

/* c[0] = 1 / cnll, c[1] = -knll / cnll */
BT_FN void NonlinearLens_setup(bt_op* op, const double* aux)
{
    (void)aux;
    op->c[0] = 1.0 / NonlinearLens_cnll(op);
    op->c[1] = -NonlinearLens_knll(op) * op->c[0];
}

BT_FN void NonlinearLens_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const zr = p->x * op->c[0], zi = p->y * op->c[0];
    /* croot = sqrt(1 - zeta^2); the imaginary part as 0 - Im(zeta^2) so that it is +0 on the real
     * axis beyond the singularities (|x| > cnll, y = 0), the side ImpactX's complex arithmetic takes */
    double cr, ci;
    bt_csqrt(1.0 - (zr * zr - zi * zi), 0.0 - (zr * zi + zi * zr), &cr, &ci);
    /* carcsin = -i log(i zeta + croot) */
    double const wr = cr - zi, wi = ci + zr;
    double const lr = log(hypot(wr, wi)), li = atan2(wi, wr);
    double const ar = li, ai = -lr;
    /* dF = zeta / croot^2 + carcsin / croot^3 */
    double const c2r = cr * cr - ci * ci, c2i = 2.0 * cr * ci;
    double const c3r = c2r * cr - c2i * ci, c3i = c2r * ci + c2i * cr;
    double d1r, d1i, d2r, d2i;
    bt_cdiv(zr, zi, c2r, c2i, &d1r, &d1i);
    bt_cdiv(ar, ai, c3r, c3i, &d2r, &d2i);
    p->px += op->c[1] * (d1r + d2r);
    p->py -= op->c[1] * (d1i + d2i);
}
#endif
