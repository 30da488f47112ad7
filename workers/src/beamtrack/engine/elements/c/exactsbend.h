/* ExactSbend: body of an ideal sector bend with the exact Hamiltonian (ImpactX's ExactSbend;
 * D. L. Bruhwiler et al., EPAC 98, 1171; E. Forest et al., Part. Accel. 45, 65 (1994)).
 * ExactSbend_rc(op) [m] (reference radius: rigidity / B, or ds / phi),
 * ExactSbend_slice_angle(op) = slice angle phi [rad] (sign of
 * rc), ExactSbend_zero_field(op) = 1 for the zero-field case (phi = 0 and B = 0: an exact drift, as ImpactX).
 * With pperp^2 = 1 - 2 pt/beta + pt^2 - py^2, pzi = sqrt(pperp^2 - px^2):
 *   pxf = px cos(phi) + (pzi - 1 - x/rc) sin(phi),  pzf = sqrt(pperp^2 - pxf^2),
 *   x'  = x cos(phi) + rc (pzf - pzi + px sin(phi) - (1 - pzi)(1 - cos(phi))),
 *   y' = y + rc theta py,  t' = t - rc theta pt + rc dA / beta,
 * theta = phi + dA, dA = asin(px/pperp) - asin(pxf/pperp) (via atan2; ImpactX's t' =
 * t - rc theta (pt - 1/beta) - rc phi/beta, regrouped). Differences are rationalised
 * (pzf - pzi = (px^2 - pxf^2)/(pzf + pzi), 1 - pzi = (1 - pperp^2 + px^2)/(1 + pzi)).
 * A particle outside the map's domain (pperp^2 <= px^2 or <= pxf^2) is lost, as in ImpactX.
 * Source: ImpactX src/elements/ExactSbend.H.
 */
#ifndef BEAMTRACK_EXACTSBEND_H
#define BEAMTRACK_EXACTSBEND_H
#include "beamtrack/engine/kernels/bt_common.h"
#include "beamtrack/engine/elements/c/exactdrift.h"

/* c[0..3] as ExactDrift; c[4] = rc, c[5] = phi, c[6] = sin(phi), c[7] = 1 - cos(phi), c[8] = cos(phi) */
BT_FN void ExactSbend_setup(bt_op* op, const double* aux)
{
    ExactDrift_setup(op, aux);
    double const phi = ExactSbend_slice_angle(op), h = sin(0.5 * phi);
    op->c[4] = ExactSbend_rc(op);
    op->c[5] = phi;
    op->c[6] = sin(phi);
    op->c[7] = 2.0 * h * h;
    op->c[8] = cos(phi);
}

BT_FN void ExactSbend_push(const bt_op* op, const double* aux, bt_part* p)
{
    if (ExactSbend_zero_field(op) != 0.0) {
        ExactDrift_push(op, aux, p);
        return;
    }
    double const ib = op->c[0], rc = op->c[4], phi = op->c[5];
    double const sn = op->c[6], omc = op->c[7], cs = op->c[8];
    double const x = p->x, px = p->px, py = p->py, pt = p->pt;
    double const one_m_pperp2 = pt * (2.0 * ib - pt) + py * py; /* 1 - pperp^2 */
    double const pperp2 = 1.0 - one_m_pperp2;
    double const pzi2 = pperp2 - px * px;
    int bad = !(pzi2 > 0.0);
    double const pzi = sqrt(bad ? 1.0 : pzi2);
    double const one_m_pzi = (one_m_pperp2 + px * px) / (1.0 + pzi);
    double const pxf = px * cs - (one_m_pzi + x / rc) * sn;
    double const pzf2 = pperp2 - pxf * pxf;
    bad |= !(pzf2 > 0.0);
    double const pzf = sqrt(bad ? 1.0 : pzf2);
    double const dpz = (px - pxf) * (px + pxf) / (pzf + pzi); /* pzf - pzi */
    double const dA = atan2(px * pzf - pxf * pzi, pzi * pzf + px * pxf);
    double const theta = phi + dA;
    double const xo = x * cs + rc * (dpz + px * sn - one_m_pzi * omc);
    p->x = bad ? x : xo;
    p->px = bad ? px : pxf;
    p->y = bad ? p->y : p->y + rc * theta * py;
    p->t = bad ? p->t : p->t - rc * theta * pt + rc * dA * ib;
    p->lost |= bad;
}
#endif
