/* DipEdge: thin edge focusing of a bend (ImpactX's DipEdge).
 * Linear model (K. L. Brown, SLAC-75 (1982), to first order in g/rc):
 *   px += tan(psi)/rc x,   py += ((1 + sin^2 psi)/cos^3 psi g K2/rc^2 - tan(psi)/rc) y.
 * Nonlinear model: the symplectic sixth-order hard-edge fringe map of K. Hwang, S. Y. Lee,
 * PRSTAB 18, 122401 (2015), with the fringe integrals K0..K6, the scale length R [m] and the
 * location sign (+1 entry, -1 exit); its coefficients c2, c3, c7..c12 scale with 1/(1 + delta).
 * modify_ref_part removes the orbit offset of the reference (the element moves the reference too).
 * Source: ImpactX src/elements/DipEdge.H.
 * DipEdge_psi(op) [rad], DipEdge_rc(op) [m], DipEdge_g(op) [m], DipEdge_K2(op), DipEdge_R(op) [m], DipEdge_K0(op),
 * DipEdge_K1(op), DipEdge_K3(op), DipEdge_K4(op), DipEdge_K5(op), DipEdge_K6(op), DipEdge_model(op) (0 linear, 1 nonlinear),
 * DipEdge_location(op) (0 entry, 1 exit), DipEdge_modify_ref_part(op) (0/1).
 */
#ifndef BEAMTRACK_DIPEDGE_H
#define BEAMTRACK_DIPEDGE_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = R21, c[1] = R43 (linear); c[2] = c2, c[3] = c3, c[4] = c5, c[5] = c7, c[6] = c8, c[7] = c9,
 * c[8] = c10, c[9] = c11, c[10] = c12 (times 1 + delta), c[11] = c13, c[12] = c14, c[13] = c15,
 * c[14] = 1/beta, c[15] = modify_ref_part */
BT_FN void DipEdge_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const psi = DipEdge_psi(op), rc = DipEdge_rc(op), g = DipEdge_g(op), K2 = DipEdge_K2(op), R = DipEdge_R(op);
    double const K0 = DipEdge_K0(op), K1 = DipEdge_K1(op), K3 = DipEdge_K3(op);
    double const K4 = DipEdge_K4(op), K5 = DipEdge_K5(op), K6 = DipEdge_K6(op);
    double const loc = (DipEdge_location(op) == 0.0) ? 1.0 : -1.0;
    double const s = sin(psi), c = cos(psi), tn = s / c, sec = 1.0 / c;
    double const c3p = c * c * c, rc2 = rc * rc;
    op->c[0] = tan(psi) / rc;
    op->c[1] = (1.0 + s * s) / c3p * g * K2 / rc2 - op->c[0];
    op->c[2] = (g / rc) * (g / rc) * K0 * s * sec * sec * sec / 2.0;
    op->c[3] = loc * g * g / rc * K0 * sec * sec;
    op->c[4] = tn / (2.0 * rc);
    op->c[5] = 0.5 * sec * sec * sec * (g * K1 / (2.0 * rc2) + (1.0 + s * s) * g * K2 / rc2);
    op->c[6] = (1.0 / 6.0) * tn * tn * tn / (2.0 * rc2);
    op->c[7] = 0.5 * tn * sec * sec / (2.0 * rc2);
    op->c[8] = loc * tn * tn / (2.0 * rc);
    op->c[9] = loc / (2.0 * rc);
    op->c[10] = (g > 0.0) ? (4.0 / c - 8.0 / c3p) * K3 / (24.0 * rc2 * g) : 0.0;
    op->c[11] = s * s / (2.0 * c3p) * g * g / (rc * R) * K4;
    op->c[12] = 0.5 * s / c3p * g / (rc * R) * K5;
    op->c[13] = (K6 / (rc * R)) / c3p;
    op->c[14] = 1.0 / op->beta;
    op->c[15] = DipEdge_modify_ref_part(op);
}

BT_FN void DipEdge_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    if (DipEdge_model(op) == 0.0) {
        p->px += op->c[0] * p->x;
        p->py += op->c[1] * p->y;
        return;
    }
    double const x = p->x, y = p->y, px = p->px, py = p->py, pt = p->pt, ib = op->c[14];
    double const inv_delta1 = 1.0 / sqrt(1.0 - 2.0 * pt * ib + pt * pt); /* 1 / (1 + delta) */
    double const c2 = op->c[2] * inv_delta1, c3 = op->c[3] * inv_delta1, c5 = op->c[4];
    double const c7 = op->c[5] * inv_delta1, c8 = op->c[6] * inv_delta1, c9 = op->c[7] * inv_delta1;
    double const c10 = op->c[8] * inv_delta1, c11 = op->c[9] * inv_delta1, c12 = op->c[10] * inv_delta1;
    double const c13 = op->c[11], c14 = op->c[12], c15 = op->c[13];
    double const x2 = x * x, y2 = y * y;

    /* new positions, then the momenta from the generating function's Jacobian (X, Y of x, y) */
    double xout = x - c3 - c10 * x2 + (c10 + c11) * y2;
    double const yout = y + 2.0 * c10 * x * y;
    double const D = 1.0 - 4.0 * c10 * c11 * y2 - 4.0 * c10 * c10 * (x2 + y2);
    double const dRdx = -c13 + c2 + c3 * c5 + 2.0 * (c14 - c5) * x + 3.0 * (c15 / 6.0 + c10 * c5 + c8) * x2
                        + (-c15 / 2.0 + c10 * c5 - c11 * c5 - c9) * y2;
    double const dRdy = 2.0 * (-c14 + c5 - c7) * y + 2.0 * (-c15 / 2.0 + c10 * c5 - c11 * c5 - c9) * x * y
                        - 4.0 * c12 * y2 * y;
    double const dXdx = 1.0 - 2.0 * c10 * x, dXdy = 2.0 * (c10 + c11) * y;
    double const dYdx = 2.0 * c10 * y, dYdy = 1.0 + 2.0 * c10 * x;
    double pxout = (dYdy * (px - dRdx) - dYdx * (py - dRdy)) / D;
    double const pyout = (-dXdy * (px - dRdx) + dXdx * (py - dRdy)) / D;
    double const dDelta_dpt = (pt - ib) * inv_delta1;
    double tout = p->t
                  - dDelta_dpt * inv_delta1
                        * ((c2 + c3 * c5) * x + (c10 * c5 + c8) * x2 * x - c7 * y2 - c12 * y2 * y2
                           + (c10 * c5 - c11 * c5 - c9) * x * y2 + pxout * (-c3 + (c11 + c10) * y2 - c10 * x2)
                           + 2.0 * pyout * c10 * x * y);

    if (op->c[15] != 0.0) { /* the reference moved by the same edge: relative to it */
        double const c3_ref = op->c[3];
        double const dpx_ref = c13 - op->c[2] - c3_ref * c5;
        xout += c3_ref;
        pxout -= dpx_ref;
        tout += c3_ref * dpx_ref * ib;
    }
    p->x = xout;
    p->px = pxout;
    p->y = yout;
    p->py = pyout;
    p->t = tout;
}
#endif
