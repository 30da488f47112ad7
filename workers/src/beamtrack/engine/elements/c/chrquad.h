/* ChrQuad: quadrupole with chromatic effects (ImpactX's ChrQuad).
 * H = -pt/beta - D + (px^2 + py^2) / (2 D) + g (x^2 - y^2) / 2, D = sqrt(1 - 2 pt/beta + pt^2),
 * g [1/m^2] > 0 focuses in x. The transverse motion is solved exactly (omega^2 = |g| / D, w = omega D);
 * t advances by the integral of dH/dpt = (1/beta - pt)/D - 1/beta + (1/beta - pt) p(s)^2 / (2 D^3)
 * along the solution, with the integrals of px(s)^2 and py(s)^2 in closed form (equal to ImpactX's
 * terms 1..5 regrouped). Source: ImpactX src/elements/ChrQuad.H. p[0] = g [1/m^2] (ImpactX's m_g:
 * k for unit 0, k / rigidity for unit 1; converted in Python).
 */
#ifndef BEAMTRACK_CHRQUAD_H
#define BEAMTRACK_CHRQUAD_H
#include "beamtrack/engine/kernels/bt_common.h"
#include "beamtrack/engine/elements/c/chrdrift.h"

/* c[0..2] as ChrDrift (1/beta, 1/gamma^2, beta), c[3] = g, c[4] = |g| */
BT_FN void ChrQuad_setup(bt_op* op, const double* aux)
{
    ChrDrift_setup(op, aux);
    op->c[3] = op->p[0];
    op->c[4] = fabs(op->p[0]);
}

BT_FN void ChrQuad_push(const bt_op* op, const double* aux, bt_part* p)
{
    double const g = op->c[3];
    if (g == 0.0) {
        ChrDrift_push(op, aux, p);
        return;
    }
    double const L = op->ds, ib = op->c[0];
    double const D = sqrt(1.0 - 2.0 * p->pt * ib + p->pt * p->pt);
    double const iD = 1.0 / D;
    double const omega = sqrt(op->c[4] * iD);
    double const w = omega * D;
    double const phi = omega * L;
    double const cf = cos(phi), sf = sin(phi), ch = cosh(phi), sh = sinh(phi);
    int const focusing = g > 0.0;
    /* (q1, p1): the oscillating plane, (q2, p2): the hyperbolic plane */
    double const q1 = focusing ? p->x : p->y, p1 = focusing ? p->px : p->py;
    double const q2 = focusing ? p->y : p->x, p2 = focusing ? p->py : p->px;
    double const q1o = cf * q1 + sf / w * p1, p1o = -w * sf * q1 + cf * p1;
    double const q2o = ch * q2 + sh / w * p2, p2o = w * sh * q2 + ch * p2;
    /* integrals over the slice of p1(s)^2 and p2(s)^2 */
    double const s2 = 2.0 * sf * cf, c2m = 2.0 * sf * sf;    /* sin(2 phi), 1 - cos(2 phi) */
    double const sh2 = 2.0 * sh * ch, ch2m = 2.0 * sh * sh;  /* sinh(2 phi), cosh(2 phi) - 1 */
    double const io = 0.25 / omega;
    double const wq1 = w * q1, wq2 = w * q2;
    double const I1 = p1 * p1 * (0.5 * L + s2 * io) + wq1 * wq1 * (0.5 * L - s2 * io) - p1 * wq1 * c2m * 2.0 * io;
    double const I2 = p2 * p2 * (0.5 * L + sh2 * io) + wq2 * wq2 * (sh2 * io - 0.5 * L) + p2 * wq2 * ch2m * 2.0 * io;
    double const u = ib - p->pt;
    double const base = p->pt * (2.0 * ib - p->pt) * op->c[1] * ib * iD / (op->c[2] * u + D);
    p->t += L * base + 0.5 * u * iD * iD * iD * (I1 + I2);
    p->x = focusing ? q1o : q2o;
    p->px = focusing ? p1o : p2o;
    p->y = focusing ? q2o : q1o;
    p->py = focusing ? p2o : p1o;
}
#endif
