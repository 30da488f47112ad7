/* ImpactX's symplectic integrators with spin (src/particles/integrators/Integrators.H,
 * symp{2,4,6}_integrate_particle_spin_step): BT_SYMP_INTEGRATE_SPIN(MAP1, MAP2, SPIN, op, aux, p, s, order,
 * nsteps, L) advances particle p and spin s over L [m] in nsteps steps; a second-order step of size h is
 * MAP1(h/2) MAP2(h/2) SPIN(h) MAP2(h/2) MAP1(h/2), with SPIN(op, aux, h, p, s) the spin rotation of the
 * Thomas-BMT vector times h at the current orbit; order 4 is the triple jump of three such steps (h z0, h z1,
 * h z0; z0 = 1 / (2 - 2^(1/3)), z1 = -2^(1/3) z0), order 6 the triple jump of three order-4 steps with 2^(1/5).
 * Order 6 is not the phase-space-only integrator's (Yoshida's w0..w3, symplectic.h): as in ImpactX, a spin run
 * integrates the orbit with this one. */
#ifndef BEAMTRACK_SPIN_SYMPLECTIC_H
#define BEAMTRACK_SPIN_SYMPLECTIC_H
#include "beamtrack/engine/kernels/bt_spin.h"

/* the spin step SPIN of the exact magnetic elements (ImpactX's map3): rotation by tau times the Thomas-BMT vector
 * (bt_tbmt) of the field (Bx, By, 0) [normalised by q / (m c)] in the Frenet-Serret frame of curvature h [1/m],
 * velocity direction u = (px, py, ps) / P, P = sqrt(1 - 2 pt/beta + pt^2), gamma_p = gamma (1 - beta pt), at the
 * current orbit */
BT_FN void bt_spin_step_magnetic(const bt_op* op, const bt_part* p, double h, double Bx, double By, double tau,
                                 bt_spin* s)
{
    double const beta = op->beta, pt = p->pt;
    double const P = sqrt(1.0 - 2.0 * pt / beta + pt * pt), iP = 1.0 / P;
    double const ps = sqrt(P * P - p->px * p->px - p->py * p->py);
    double om[3];
    bt_tbmt(p->x, p->px * iP, p->py * iP, ps * iP, op->gamma * (1.0 - pt * beta), h, op->p[BT_P_GYRO], Bx, By, 0.0,
            0.0, 0.0, 0.0, om);
    bt_rotate_spin(om[0] * tau, om[1] * tau, om[2] * tau, s);
}

#define BT_SYMP_INTEGRATE_SPIN(MAP1, MAP2, SPIN, op, aux, p, s, order, nsteps, L)                            \
    do {                                                                                                    \
        double const bt_dz = (L) / (double)(nsteps);                                                        \
        double const bt_a3 = 1.2599210498948732, bt_a5 = 1.148698354997035;                                 \
        double const bt_z[3] = {1.0 / (2.0 - bt_a3), -bt_a3 / (2.0 - bt_a3), 1.0 / (2.0 - bt_a3)};          \
        double const bt_y[3] = {1.0 / (2.0 - bt_a5), -bt_a5 / (2.0 - bt_a5), 1.0 / (2.0 - bt_a5)};          \
        double bt_h[9];                                                                                     \
        int bt_n = 0;                                                                                       \
        for (int bt_j = 0; bt_j < (nsteps); ++bt_j) {                                                       \
            bt_n = 0;                                                                                       \
            if ((order) == 4) {                                                                             \
                for (int bt_k = 0; bt_k < 3; ++bt_k) bt_h[bt_n++] = bt_dz * bt_z[bt_k];                     \
            } else if ((order) == 6) {                                                                      \
                for (int bt_i = 0; bt_i < 3; ++bt_i)                                                        \
                    for (int bt_k = 0; bt_k < 3; ++bt_k) bt_h[bt_n++] = (bt_dz * bt_y[bt_i]) * bt_z[bt_k];  \
            } else {                                                                                        \
                bt_h[bt_n++] = bt_dz;                                                                       \
            }                                                                                               \
            for (int bt_k = 0; bt_k < bt_n; ++bt_k) {                                                       \
                double const bt_half = bt_h[bt_k] * 0.5;                                                    \
                MAP1(op, aux, bt_half, p);                                                                  \
                MAP2(op, aux, bt_half, p);                                                                  \
                SPIN(op, aux, bt_h[bt_k], p, s);                                                            \
                MAP2(op, aux, bt_half, p);                                                                  \
                MAP1(op, aux, bt_half, p);                                                                  \
            }                                                                                               \
        }                                                                                                   \
    } while (0)
#endif
