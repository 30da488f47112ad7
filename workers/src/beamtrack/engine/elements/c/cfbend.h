/* CFbend: linear combined-function sector bend (ImpactX's CFbend). CFbend_rc(op) [m], CFbend_k(op) [1/m^2].
 * gx = k + 1/rc^2 (x), gy = -k (y); matrix of F. C. Iselin, Part. Accel. 17, 143 (1985), Sec. 4,
 * with (t, pt) of opposite sign. Source: ImpactX src/elements/CFbend.H. Unlike ImpactX, gx = 0 or
 * gy = 0 (k = 0, k = -1/rc^2) take the drift limits instead of 0/0.
 */
#ifndef BEAMTRACK_CFBEND_H
#define BEAMTRACK_CFBEND_H
#include "beamtrack/engine/kernels/bt_common.h"

/* For focusing constant g and length L: C = cos(sqrt(g) L), S = sin(sqrt(g) L)/sqrt(g) (cosh/sinh for
 * g < 0), A = (1 - C)/g, B = (L - S)/g, all continuous through g = 0 (series for |g| L^2 < 0.01). */
BT_FN void bt_focus_functions(double g, double L, double* C, double* S, double* A, double* B)
{
    double const q = g * L * L;
    if (fabs(q) < 1e-2) {
        /* C = sum (-q)^n / (2n)!, S/L = sum (-q)^n / (2n+1)!, A/L^2 = sum (-q)^n/(2n+2)!, B/L^3 = sum (-q)^n/(2n+3)! */
        *C = 1.0 - q / 2.0 * (1.0 - q / 12.0 * (1.0 - q / 30.0 * (1.0 - q / 56.0)));
        *S = L * (1.0 - q / 6.0 * (1.0 - q / 20.0 * (1.0 - q / 42.0 * (1.0 - q / 72.0))));
        *A = L * L / 2.0 * (1.0 - q / 12.0 * (1.0 - q / 30.0 * (1.0 - q / 56.0 * (1.0 - q / 90.0))));
        *B = L * L * L / 6.0 * (1.0 - q / 20.0 * (1.0 - q / 42.0 * (1.0 - q / 72.0 * (1.0 - q / 110.0))));
        return;
    }
    double const w = sqrt(fabs(g));
    if (g > 0.0) {
        double const h = sin(0.5 * w * L);
        *C = cos(w * L);
        *S = sin(w * L) / w;
        *A = 2.0 * h * h / g;
    } else {
        double const h = sinh(0.5 * w * L);
        *C = cosh(w * L);
        *S = sinh(w * L) / w;
        *A = -2.0 * h * h / g;
    }
    *B = (L - *S) / g;
}

/* c: R11 R12 R16 R21 R26 R33 R34 R43 R56 (R22 = R11, R44 = R33, R51 = -R26, R52 = -R16) */
BT_FN void CFbend_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const rc = CFbend_rc(op), k = CFbend_k(op), L = op->ds, ib = 1.0 / op->beta;
    double const gx = k + 1.0 / (rc * rc), gy = -k;
    double cx, sx, ax, bx, cy, sy, ay, by;
    bt_focus_functions(gx, L, &cx, &sx, &ax, &bx);
    bt_focus_functions(gy, L, &cy, &sy, &ay, &by);
    (void)ay;
    (void)by;
    op->c[0] = cx;
    op->c[1] = sx;
    op->c[2] = -ax * ib / rc;
    op->c[3] = -gx * sx;
    op->c[4] = -sx * ib / rc;
    op->c[5] = cy;
    op->c[6] = sy;
    op->c[7] = -gy * sy;
    op->c[8] = L / (op->beta_gamma * op->beta_gamma) - bx * ib * ib / (rc * rc);
}

BT_FN void CFbend_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const* c = op->c;
    double const x = p->x, px = p->px, y = p->y, py = p->py, pt = p->pt;
    p->x = c[0] * x + c[1] * px + c[2] * pt;
    p->px = c[3] * x + c[0] * px + c[4] * pt;
    p->y = c[5] * y + c[6] * py;
    p->py = c[7] * y + c[5] * py;
    p->t += -c[4] * x - c[2] * px + c[8] * pt;
}
#endif
