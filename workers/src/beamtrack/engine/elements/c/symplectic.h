/* ImpactX's symplectic integrators (src/particles/integrators/Integrators.H, 26.10) for a Hamiltonian split
 * H = H1 + H2: BT_SYMP_INTEGRATE(MAP1, MAP2, op, aux, p, order, nsteps, L) advances particle p over L [m] in
 * nsteps steps of order 2 (MAP1(dz/2) MAP2(dz) MAP1(dz/2)), 4 (Yoshida, alpha = 1 - 2^(1/3)) or 6 (Yoshida's
 * w0..w3); MAPk(op, aux, tau, p) applies exp(tau :Hk:). A macro, not function pointers: the same code runs
 * in the serial/OpenMP C and the CUDA kernels.
 */
#ifndef BEAMTRACK_SYMPLECTIC_H
#define BEAMTRACK_SYMPLECTIC_H

#define BT_SYMP_INTEGRATE(MAP1, MAP2, op, aux, p, order, nsteps, L)                                          \
    do {                                                                                                    \
        double const bt_dz = (L) / (double)(nsteps);                                                        \
        for (int bt_j = 0; bt_j < (nsteps); ++bt_j) {                                                       \
            if ((order) == 4) {                                                                             \
                double const al = -0.2599210498948732; /* 1 - 2^(1/3) */                                   \
                double const t2 = bt_dz / (1.0 + al), t1 = 0.5 * t2, t3 = al * t1, t4 = (al - 1.0) * t2;    \
                MAP1(op, aux, t1, p); MAP2(op, aux, t2, p); MAP1(op, aux, t3, p); MAP2(op, aux, t4, p);     \
                MAP1(op, aux, t3, p); MAP2(op, aux, t2, p); MAP1(op, aux, t1, p);                           \
            } else if ((order) == 6) {                                                                      \
                double const w0 = 1.31518632068391121888424973, w1 = -1.17767998417887100694641568;        \
                double const w2 = 0.23557321335935813368479318, w3 = 0.78451361047755726381949763;         \
                double const t1 = w3 * bt_dz / 2.0, t2 = w3 * bt_dz, t3 = (w3 + w2) * bt_dz / 2.0;         \
                double const t4 = w2 * bt_dz, t5 = (w2 + w1) * bt_dz / 2.0, t6 = w1 * bt_dz;               \
                double const t7 = (w1 + w0) * bt_dz / 2.0, t8 = w0 * bt_dz;                                 \
                MAP1(op, aux, t1, p); MAP2(op, aux, t2, p); MAP1(op, aux, t3, p); MAP2(op, aux, t4, p);     \
                MAP1(op, aux, t5, p); MAP2(op, aux, t6, p); MAP1(op, aux, t7, p); MAP2(op, aux, t8, p);     \
                MAP1(op, aux, t7, p); MAP2(op, aux, t6, p); MAP1(op, aux, t5, p); MAP2(op, aux, t4, p);     \
                MAP1(op, aux, t3, p); MAP2(op, aux, t2, p); MAP1(op, aux, t1, p);                           \
            } else {                                                                                        \
                MAP1(op, aux, 0.5 * bt_dz, p); MAP2(op, aux, bt_dz, p); MAP1(op, aux, 0.5 * bt_dz, p);      \
            }                                                                                               \
        }                                                                                                   \
    } while (0)

#endif
