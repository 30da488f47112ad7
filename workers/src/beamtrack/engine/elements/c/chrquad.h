/* ChrQuad: quadrupole with chromatic effects (ImpactX's ChrQuad).
 * H = -pt/beta - D + (px^2 + py^2) / (2 D) + g (x^2 - y^2) / 2, D = sqrt(1 - 2 pt/beta + pt^2),
 * g [1/m^2] > 0 focuses in x. The transverse motion is solved exactly (omega^2 = |g| / D, w = omega D);
 * t advances by the integral of dH/dpt = (1/beta - pt)/D - 1/beta + (1/beta - pt) p(s)^2 / (2 D^3)
 * along the solution, with the integrals of px(s)^2 and py(s)^2 in closed form (equal to ImpactX's
 * terms 1..5 regrouped). Source: ImpactX src/elements/ChrQuad.H. ChrQuad_g(op) [1/m^2] (ImpactX's m_g:
 * k for unit 0, k / rigidity for unit 1; converted in Python).
 */
#ifndef BEAMTRACK_CHRQUAD_H
#define BEAMTRACK_CHRQUAD_H
#include "beamtrack/engine/kernels/bt_common.h"
#include "beamtrack/engine/elements/c/chrdrift.h"

/* c[0..2] as ChrDrift (1/beta, 1/gamma^2, beta), c[3] = g, c[4] = |g| (1 for g = 0),
 * c[5] = 1 if g > 0 else 0 (x is the oscillating plane), c[6] = 1 if g == 0 else 0 (a drift).
 * The 0/1 factors select results arithmetically: gcc 12 does not vectorise a select on a
 * loop-invariant condition, and a select between two finite values by 0/1 weights is exact. */
BT_FN void ChrQuad_setup(bt_op* op, const double* aux)
{
    ChrDrift_setup(op, aux);
    double const g = ChrQuad_g(op);
    op->c[3] = g;
    op->c[4] = (g == 0.0) ? 1.0 : fabs(g);
    op->c[5] = (g > 0.0) ? 1.0 : 0.0;
    op->c[6] = (g == 0.0) ? 1.0 : 0.0;
}

BT_FN void ChrQuad_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const L = op->ds, ib = op->c[0];
    double const fx = op->c[5], fy = 1.0 - fx;  /* x oscillates (fx = 1) or y does (fy = 1) */
    double const dr = op->c[6], qu = 1.0 - dr;  /* drift (g = 0) or quadrupole */
    double const D = sqrt(1.0 - 2.0 * p->pt * ib + p->pt * p->pt);
    double const iD = 1.0 / D;
    /* the ChrDrift map (as ChrDrift_push), used when g == 0 */
    double const dt_drift = L * bt_chr_dtds(op, p->pt, p->px * p->px + p->py * p->py, D, iD);
    double const x_drift = p->x + L * p->px * iD, y_drift = p->y + L * p->py * iD;
    double const omega = sqrt(op->c[4] * iD);
    double const w = omega * D;
    double const phi = omega * L;
    /* cos as a shifted sin: gcc fuses a sin/cos pair into one sincos call, which has no SIMD
     * version, while sin has one (libmvec) */
    double const sf = sin(phi), cf = sin(phi + 1.57079632679489661923);
    double const ch = cosh(phi), sh = sinh(phi);
    /* (q1, p1): the oscillating plane, (q2, p2): the hyperbolic plane */
    double const q1 = fx * p->x + fy * p->y, p1 = fx * p->px + fy * p->py;
    double const q2 = fy * p->x + fx * p->y, p2 = fy * p->px + fx * p->py;
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
    double const t_quad = p->t + L * base + 0.5 * u * iD * iD * iD * (I1 + I2);
    double const x_quad = fx * q1o + fy * q2o, px_quad = fx * p1o + fy * p2o;
    double const y_quad = fy * q1o + fx * q2o, py_quad = fy * p1o + fx * p2o;
    p->t = dr * (p->t + dt_drift) + qu * t_quad;
    p->x = dr * x_drift + qu * x_quad;
    p->px = dr * p->px + qu * px_quad;
    p->y = dr * y_drift + qu * y_quad;
    p->py = dr * p->py + qu * py_quad;
}
#endif
