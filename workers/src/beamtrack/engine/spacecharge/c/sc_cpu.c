/* Space-charge kernels for the CPU (serial, or OpenMP with one private grid per thread).
 *
 * Particle data is the engine's (7, cap) block: rows x, y, t, px, py, pt, weight; state[i] != 0 means
 * lost (skipped everywhere). Formulas: see sc_common.h.
 */
#include "beamtrack/engine/spacecharge/c/sc_common.h"

#include <float.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Particle loops are split into chunks of 16384 handed out dynamically: on a shared machine a thread that is
 * descheduled for a while no longer holds up the whole team at the closing barrier. */

/* Grids handed to the deposition carry SC_PAD doubles after the last node: the order-2 row update
 * writes 4 doubles (the 4th with weight 0) so that it is one vector load/add/store. */
#define SC_PAD 4

/* 4 doubles (GCC/Clang vector extension; one AVX register, two SSE2 registers without AVX). */
typedef double sc_v4 __attribute__((vector_size(32)));

static inline sc_v4 sc_ld4(const double* p)
{
    sc_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void sc_st4(double* p, sc_v4 v) { memcpy(p, &v, sizeof v); }

#define SC_INLINE static inline __attribute__((always_inline))

static int sc_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int sc_team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Optionally transform alive particles to fixed t (3D), and return their count and coordinate
 * ranges mm = {min x, min y, min t|z, max x, max y, max t|z}. */
int64_t sc_prepare(double* real, int64_t cap, int64_t n, const int32_t* state, int32_t to_fixed_t, double ptd,
                   double* mm, int32_t nthreads)
{
    double* x = real; double* y = real + cap; double* t = real + 2 * cap;
    double* px = real + 3 * cap; double* py = real + 4 * cap; double* pt = real + 5 * cap;
    double lx = DBL_MAX, ly = DBL_MAX, lt = DBL_MAX, hx = -DBL_MAX, hy = -DBL_MAX, ht = -DBL_MAX;
    int64_t alive = 0;
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads) \
    reduction(min: lx, ly, lt) reduction(max: hx, hy, ht) reduction(+: alive)
    for (int64_t i = 0; i < n; ++i) {
        if (state[i]) continue;
        if (to_fixed_t) sc_to_fixed_t(ptd, &x[i], &y[i], &t[i], &px[i], &py[i], &pt[i]);
        lx = x[i] < lx ? x[i] : lx; hx = x[i] > hx ? x[i] : hx;
        ly = y[i] < ly ? y[i] : ly; hy = y[i] > hy ? y[i] : hy;
        lt = t[i] < lt ? t[i] : lt; ht = t[i] > ht ? t[i] : ht;
        alive += 1;
    }
    mm[0] = lx; mm[1] = ly; mm[2] = lt; mm[3] = hx; mm[4] = hy; mm[5] = ht;
    return alive;
}

/* Back to fixed s without a kick (used when the solve is skipped after sc_prepare). */
void sc_to_fixed_s_all(double* real, int64_t cap, int64_t n, const int32_t* state, double pzd, int32_t nthreads)
{
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t i = 0; i < n; ++i) {
        if (state[i]) continue;
        sc_to_fixed_s(pzd, &real[i], &real[cap + i], &real[2 * cap + i], &real[3 * cap + i], &real[4 * cap + i],
                      &real[5 * cap + i]);
    }
}

/* Sum the private grids of threads 1..nt-1 (scratch, one every `stride` doubles) into rho. */
static void sc_reduce(double* rho, const double* scratch, int64_t ng, int64_t stride, int nt)
{
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t g = 0; g < ng; ++g) {
        double s = rho[g];
        for (int k = 0; k < nt - 1; ++k) s += scratch[(int64_t)k * stride + g];
        rho[g] = s;
    }
}

/* Deposit one particle with the stencil width S = order + 1 known at compile time: each of the S*S
 * rows of S nodes along the last axis is one 4-wide update (S <= 3: the unused lanes add 0 to the
 * next nodes, which the SC_PAD doubles keep inside the grid). */
SC_INLINE int64_t sc_dep3_one(int const order, double* g, int64_t const n0, int64_t const n1, int64_t const n2,
                              const double* lo, const double* inv_d, double const x, double const y, double const z,
                              double const q)
{
    double wx[SC_MAXS], wy[SC_MAXS], wz[SC_MAXS] = {0.0, 0.0, 0.0, 0.0};
    int const s = order + 1;
    int const i0 = sc_shape(order, (x - lo[0]) * inv_d[0], wx);
    int const j0 = sc_shape(order, (y - lo[1]) * inv_d[1], wy);
    int const k0 = sc_shape(order, (z - lo[2]) * inv_d[2], wz);
    if (i0 < 0 || j0 < 0 || k0 < 0 || i0 + s > n0 || j0 + s > n1 || k0 + s > n2) return 0;
    sc_v4 const vz = {wz[0], wz[1], wz[2], wz[3]};
    for (int a = 0; a < s; ++a) {
        double const qa = q * wx[a];
        for (int b = 0; b < s; ++b) {
            double* row = g + ((int64_t)(i0 + a) * n1 + (j0 + b)) * n2 + k0;
            sc_st4(row, sc_ld4(row) + (qa * wy[b]) * vz);
        }
    }
    return 1;
}

#define SC_DEP3_LOOP(ORDER)                                                                                      \
    _Pragma("omp for schedule(dynamic, 16384)") for (int64_t i = 0; i < n; ++i)                            \
    {                                                                                                          \
        if (state[i]) continue;                                                                                \
        double const q = wscale * (w ? w[i] : 1.0);                                                            \
        done += sc_dep3_one(ORDER, g, n0, n1, n2, lo, inv_d, real[i], real[cap + i], real[2 * cap + i], q);    \
    }

/* rho += sum_i wscale * w_i * S(x - x_i) over alive particles (w = NULL: w_i = 1). rho holds
 * n0*n1*n2 + SC_PAD doubles; scratch holds (nthreads - 1) grids of n0*n1*n2 + SC_PAD. Returns the
 * number of particles deposited. */
int64_t sc_deposit3d(const double* real, int64_t cap, int64_t n, const int32_t* state, const double* w,
                     double wscale, int32_t order, const double* lo, const double* inv_d, int64_t n0, int64_t n1,
                     int64_t n2, double* rho, double* scratch, int32_t nthreads)
{
    int64_t const ng = n0 * n1 * n2, stride = ng + SC_PAD;
    int64_t done = 0;
    int team = 1;
    memset(rho, 0, (size_t)stride * sizeof(double));
    (void)nthreads;
#pragma omp parallel num_threads(nthreads) reduction(+: done)
    {
        int const tid = sc_thread_id();
        if (tid == 0) team = sc_team_size();
        double* g = tid == 0 ? rho : scratch + (int64_t)(tid - 1) * stride;
        if (tid > 0) memset(g, 0, (size_t)stride * sizeof(double));
        if (order == 1) {
            SC_DEP3_LOOP(1)
        } else if (order == 2) {
            SC_DEP3_LOOP(2)
        } else {
            SC_DEP3_LOOP(3)
        }
    }
    if (team > 1) sc_reduce(rho, scratch, ng, stride, team);
    return done;
}

int64_t sc_deposit2d(const double* real, int64_t cap, int64_t n, const int32_t* state, const double* w,
                     double wscale, int32_t order, const double* lo, const double* inv_d, int64_t n0, int64_t n1,
                     double* rho, double* scratch, int32_t nthreads)
{
    int64_t const ng = n0 * n1;
    int64_t done = 0;
    int team = 1;
    memset(rho, 0, (size_t)ng * sizeof(double));
    (void)nthreads;
#pragma omp parallel num_threads(nthreads) reduction(+: done)
    {
        int const tid = sc_thread_id();
        if (tid == 0) team = sc_team_size();
        double* g = tid == 0 ? rho : scratch + (int64_t)(tid - 1) * ng;
        if (tid > 0) memset(g, 0, (size_t)ng * sizeof(double));
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; ++i) {
            if (state[i]) continue;
            double const q = wscale * (w ? w[i] : 1.0);
            done += sc_deposit2d_one(order, g, n0, n1, lo, inv_d, real[i], real[cap + i], q);
        }
    }
    if (team > 1) sc_reduce(rho, scratch, ng, ng, team);
    return done;
}

/* ImpactX Deposit1D: out[floor((t - bin_min) / bin_size)] += wscale * w_i / bin_size (nb entries). */
void sc_deposit_line(const double* real, int64_t cap, int64_t n, const int32_t* state, const double* w,
                     double wscale, double bin_min, double bin_size, int64_t nb, double* out)
{
    const double* t = real + 2 * cap;
    memset(out, 0, (size_t)nb * sizeof(double));
    for (int64_t i = 0; i < n; ++i) {
        if (state[i]) continue;
        int64_t const b = (int64_t)floor((t[i] - bin_min) / bin_size);
        if (b < 0 || b >= nb) continue;
        out[b] += wscale * (w ? w[i] : 1.0) / bin_size;
    }
}

/* E = -grad(phi) by centred differences (h = 0.5 / cell size), written interleaved: node g holds
 * (Ex, Ey, Ez, 0) at F[4 g .. 4 g + 3], so that the gather reads one 32-byte block per node. The
 * outermost layer is set to 0 (the grid is padded so that particles never reach it). */
void sc_grad3d(const double* phi, int64_t n0, int64_t n1, int64_t n2, const double* h, double* F, int32_t nthreads)
{
    double const h0 = h[0], h1 = h[1], h2 = h[2];
    int64_t const sx = n1 * n2, sy = n2;
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t i = 0; i < n0; ++i) {
        for (int64_t j = 0; j < n1; ++j) {
            int64_t const o = (i * n1 + j) * n2;
            double* f = F + 4 * o;
            if (i == 0 || i == n0 - 1 || j == 0 || j == n1 - 1) {
                memset(f, 0, (size_t)(4 * n2) * sizeof(double));
                continue;
            }
            const double* p = phi + o;
            f[0] = f[1] = f[2] = f[3] = 0.0;
            for (int64_t k = 1; k < n2 - 1; ++k) {
                f[4 * k] = h0 * (p[k - sx] - p[k + sx]);
                f[4 * k + 1] = h1 * (p[k - sy] - p[k + sy]);
                f[4 * k + 2] = h2 * (p[k - 1] - p[k + 1]);
                f[4 * k + 3] = 0.0;
            }
            f = F + 4 * (o + n2 - 1);
            f[0] = f[1] = f[2] = f[3] = 0.0;
        }
    }
}

void sc_grad2d(const double* phi, int64_t n0, int64_t n1, const double* h, double* ex, double* ey, int32_t nthreads)
{
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t i = 0; i < n0; ++i) {
        for (int64_t j = 0; j < n1; ++j) {
            int64_t const o = i * n1 + j;
            if (i == 0 || i == n0 - 1 || j == 0 || j == n1 - 1) {
                ex[o] = ey[o] = 0.0;
                continue;
            }
            ex[o] = h[0] * (phi[o - n1] - phi[o + n1]);
            ey[o] = h[1] * (phi[o - 1] - phi[o + 1]);
        }
    }
}

/* (Ex, Ey, Ez) at (x, y, z) from the interleaved field F of sc_grad3d, stencil width order + 1 known
 * at compile time. Returns 0 (and zero field) off the grid. */
SC_INLINE int sc_gat3_one(int const order, const double* F, int64_t const n0, int64_t const n1, int64_t const n2,
                          const double* lo, const double* inv_d, double const x, double const y, double const z,
                          double* e)
{
    double wx[SC_MAXS], wy[SC_MAXS], wz[SC_MAXS];
    int const s = order + 1;
    int const i0 = sc_shape(order, (x - lo[0]) * inv_d[0], wx);
    int const j0 = sc_shape(order, (y - lo[1]) * inv_d[1], wy);
    int const k0 = sc_shape(order, (z - lo[2]) * inv_d[2], wz);
    e[0] = e[1] = e[2] = 0.0;
    if (i0 < 0 || j0 < 0 || k0 < 0 || i0 + s > n0 || j0 + s > n1 || k0 + s > n2) return 0;
    sc_v4 acc = {0.0, 0.0, 0.0, 0.0};
    for (int a = 0; a < s; ++a) {
        for (int b = 0; b < s; ++b) {
            const double* f = F + 4 * (((int64_t)(i0 + a) * n1 + (j0 + b)) * n2 + k0);
            sc_v4 r = sc_ld4(f) * wz[0];
            for (int c = 1; c < s; ++c) r += sc_ld4(f + 4 * c) * wz[c];
            acc += (wx[a] * wy[b]) * r;
        }
    }
    e[0] = acc[0];
    e[1] = acc[1];
    e[2] = acc[2];
    return 1;
}

#define SC_GP3_LOOP(ORDER)                                                                                       \
    _Pragma("omp parallel for schedule(dynamic, 16384) num_threads(nthreads)") for (int64_t i = 0; i < n; ++i) \
    {                                                                                                          \
        if (state[i]) continue;                                                                                \
        double e[3];                                                                                           \
        sc_gat3_one(ORDER, F, n0, n1, n2, lo, inv_d, real[i], real[cap + i], real[2 * cap + i], e);            \
        sc_push_one(real, cap, n, i, e, kick, kick, fixed_t, pzd, eout);                                       \
    }

/* Gather E (interleaved, from sc_grad3d) at each alive particle, kick (px, py, pz) += kick * E, and
 * (fixed_t) transform back to fixed s. eout, when not NULL, receives the gathered field as a (3, n) block. */
void sc_gather_push3d(double* real, int64_t cap, int64_t n, const int32_t* state, int32_t order, const double* lo,
                      const double* inv_d, int64_t n0, int64_t n1, int64_t n2, const double* F, double kick,
                      int32_t fixed_t, double pzd, double* eout, int32_t nthreads)
{
    (void)nthreads;
    if (order == 1) {
        SC_GP3_LOOP(1)
    } else if (order == 2) {
        SC_GP3_LOOP(2)
    } else {
        SC_GP3_LOOP(3)
    }
}

/* 2D / 2.5D gather and kick. prof == NULL (2D): (px, py) += kxy * E. Otherwise (ImpactX 2.5D) with
 * idx = (int)((t - bin_min) / bin_size): (px, py) += kxy * prof[idx] * E and pt -= kt * slope[idx] * phi.
 * eout, when not NULL, receives (Ex, Ey, phi) as a (3, n) block. */
void sc_gather_push2d(double* real, int64_t cap, int64_t n, const int32_t* state, int32_t order, const double* lo,
                      const double* inv_d, int64_t n0, int64_t n1, const double* ex, const double* ey,
                      const double* phi, double kxy, double kt, const double* prof, const double* slope,
                      double bin_min, double bin_size, int64_t nb, double* eout, int32_t nthreads)
{
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t i = 0; i < n; ++i) {
        if (state[i]) continue;
        double e[3];
        sc_gather2d_one(order, ex, ey, prof ? phi : (const double*)0, n0, n1, lo, inv_d, real[i], real[cap + i], e);
        int64_t const b = prof ? sc_bin(real[2 * cap + i], bin_min, bin_size, nb) : 0;
        double const fxy = prof ? prof[b] : 1.0, fz = prof ? slope[b] : 0.0;
        sc_push_one(real, cap, n, i, e, kxy * fxy, -(kt * fz), 0, 0.0, eout);
    }
}

/* Integrated Green's function on n0 x n1 x n2 node offsets (i dx, j dy, k dz), times factor.
 * P is scratch for the (n0+1)(n1+1)(n2+1) corner antiderivatives at ((i - 1/2) dx, ...). */
void sc_igf3d(int64_t n0, int64_t n1, int64_t n2, double dx, double dy, double dz, double factor, double* P,
              double* G, int32_t nthreads)
{
    int64_t const m1 = n1 + 1, m2 = n2 + 1;
    (void)nthreads;
    /* corners at ((i - 1/2) dx, ...): positive for i >= 1; the antiderivative is odd in each argument, so the
       i = 0 (j = 0, k = 0) layers are the negated i = 1 layers */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
    for (int64_t i = 1; i <= n0; ++i)
        for (int64_t j = 1; j <= n1; ++j)
            for (int64_t k = 1; k <= n2; ++k)
                P[(i * m1 + j) * m2 + k] = sc_igf3d_corner_pos((i - 0.5) * dx, (j - 0.5) * dy, (k - 0.5) * dz);
    for (int64_t i = 1; i <= n0; ++i)
        for (int64_t j = 1; j <= n1; ++j) P[(i * m1 + j) * m2] = -P[(i * m1 + j) * m2 + 1];
    for (int64_t i = 1; i <= n0; ++i)
        for (int64_t k = 0; k <= n2; ++k) P[(i * m1) * m2 + k] = -P[(i * m1 + 1) * m2 + k];
    for (int64_t j = 0; j <= n1; ++j)
        for (int64_t k = 0; k <= n2; ++k) P[j * m2 + k] = -P[(m1 + j) * m2 + k];
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t i = 0; i < n0; ++i)
        for (int64_t j = 0; j < n1; ++j)
            for (int64_t k = 0; k < n2; ++k) {
#define SC_P(a, b, c) P[((i + (a)) * m1 + (j + (b))) * m2 + (k + (c))]
                G[(i * n1 + j) * n2 + k] = factor * (SC_P(1, 1, 1) - SC_P(0, 1, 1) - SC_P(1, 0, 1) + SC_P(0, 0, 1)
                                                     - SC_P(1, 1, 0) + SC_P(0, 1, 0) + SC_P(1, 0, 0) - SC_P(0, 0, 0));
#undef SC_P
            }
}

void sc_igf2d(int64_t n0, int64_t n1, double dx, double dy, double factor, double* P, double* G, int32_t nthreads)
{
    int64_t const m1 = n1 + 1;
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t i = 0; i <= n0; ++i)
        for (int64_t j = 0; j <= n1; ++j) P[i * m1 + j] = sc_igf2d_corner((i - 0.5) * dx, (j - 0.5) * dy);
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t i = 0; i < n0; ++i)
        for (int64_t j = 0; j < n1; ++j)
            G[i * n1 + j] = factor * (P[(i + 1) * m1 + j + 1] - P[(i + 1) * m1 + j] - P[i * m1 + j + 1] + P[i * m1 + j]);
}

/* The kick of sc_gather_push3d from a gathered field e (3, n), for timing the two halves apart. */
void sc_push3d(double* real, int64_t cap, int64_t n, const int32_t* state, const double* e, double kick,
               int32_t fixed_t, double pzd, int32_t nthreads)
{
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t i = 0; i < n; ++i) {
        if (state[i]) continue;
        double const ei[3] = {e[i], e[n + i], e[2 * n + i]};
        sc_push_one(real, cap, n, i, ei, kick, kick, fixed_t, pzd, (double*)0);
    }
}

/* The kick of sc_gather_push2d from a gathered (Ex, Ey, phi) block e (3, n). */
void sc_push2d(double* real, int64_t cap, int64_t n, const int32_t* state, const double* e, double kxy, double kt,
               const double* prof, const double* slope, double bin_min, double bin_size, int64_t nb, int32_t nthreads)
{
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t i = 0; i < n; ++i) {
        if (state[i]) continue;
        int64_t const b = prof ? sc_bin(real[2 * cap + i], bin_min, bin_size, nb) : 0;
        double const fxy = prof ? prof[b] : 1.0, fz = prof ? slope[b] : 0.0;
        double const ei[3] = {e[i], e[n + i], e[2 * n + i]};
        sc_push_one(real, cap, n, i, ei, kxy * fxy, -(kt * fz), 0, 0.0, (double*)0);
    }
}

/* Alive particles and the sum of their weights: out = {count, sum w}. */
void sc_census(const int32_t* state, const double* w, int64_t n, double* out, int32_t nthreads)
{
    int64_t alive = 0;
    double sw = 0.0;
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads) reduction(+: alive, sw)
    for (int64_t i = 0; i < n; ++i) {
        if (state[i]) continue;
        alive += 1;
        sw += w[i];
    }
    out[0] = (double)alive;
    out[1] = sw;
}

/* F[i, j, k] *= D[min(i, m0 - i), min(j, m1 - j), k] for the complex (m0, m1, m2) spectrum F (interleaved
 * re, im) and the real (m0/2 + 1, m1/2 + 1, m2) half spectrum D of an even kernel (m1 = 1 for 2D). */
void sc_mul_folded(double* F, int64_t m0, int64_t m1, int64_t m2, const double* D, int32_t nthreads)
{
    int64_t const h1 = m1 / 2 + 1;
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t i = 0; i < m0; ++i) {
        int64_t const fi = i < m0 - i ? i : m0 - i;
        for (int64_t j = 0; j < m1; ++j) {
            int64_t const fj = j < m1 - j ? j : m1 - j;
            double* f = F + 2 * (i * m1 + j) * m2;
            const double* d = D + (fi * h1 + fj) * m2;
            for (int64_t k = 0; k < m2; ++k) {
                f[2 * k] *= d[k];
                f[2 * k + 1] *= d[k];
            }
        }
    }
}

/* Weighted moments of the alive particles: out = {sum w, <x>, <y>, <t|z>, sig_x, sig_y, sig_t|z} (two passes,
 * as ImpactX's reduced_beam_characteristics: centred second moments over the sum of the weights). */
void sc_wmoments(const double* real, int64_t cap, int64_t n, const int32_t* state, double* out, int32_t nthreads)
{
    const double* w = real + 6 * cap;
    double sw = 0.0, sx = 0.0, sy = 0.0, st = 0.0;
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads) reduction(+: sw, sx, sy, st)
    for (int64_t i = 0; i < n; ++i) {
        if (state[i]) continue;
        sw += w[i];
        sx += w[i] * real[i];
        sy += w[i] * real[cap + i];
        st += w[i] * real[2 * cap + i];
    }
    double const mx = sw > 0.0 ? sx / sw : 0.0, my = sw > 0.0 ? sy / sw : 0.0, mt = sw > 0.0 ? st / sw : 0.0;
    double vx = 0.0, vy = 0.0, vt = 0.0;
#pragma omp parallel for schedule(static) num_threads(nthreads) reduction(+: vx, vy, vt)
    for (int64_t i = 0; i < n; ++i) {
        if (state[i]) continue;
        double const dx = real[i] - mx, dy = real[cap + i] - my, dt = real[2 * cap + i] - mt;
        vx += w[i] * dx * dx;
        vy += w[i] * dy * dy;
        vt += w[i] * dt * dt;
    }
    out[0] = sw; out[1] = mx; out[2] = my; out[3] = mt;
    out[4] = sw > 0.0 ? sqrt(vx / sw) : 0.0;
    out[5] = sw > 0.0 ? sqrt(vy / sw) : 0.0;
    out[6] = sw > 0.0 ? sqrt(vt / sw) : 0.0;
}

/* ImpactX Gauss3dPush at fixed t: E_i = scale_i x_i I_i (sc_gauss3d_integrals; scale_i = 2 A Q / (4 pi eps0)
 * / (sig_i^2 sig_z sqrt(2 pi))), (px, py, pz) += kick * E, then (fixed_t) back to fixed s. eout (3, n) or NULL. */
void sc_gauss3d_push(double* real, int64_t cap, int64_t n, const int32_t* state, int32_t nint, const double* sig,
                     double gamma, const double* scale, double kick, int32_t fixed_t, double pzd, double* eout,
                     int32_t nthreads)
{
    (void)nthreads;
#pragma omp parallel for schedule(dynamic, 4096) num_threads(nthreads)
    for (int64_t i = 0; i < n; ++i) {
        if (state[i]) continue;
        double I[3];
        double const x = real[i], y = real[cap + i], z = real[2 * cap + i];
        sc_gauss3d_integrals(nint, x, y, z, sig[0], sig[1], sig[2], gamma, I);
        double const e[3] = {scale[0] * x * I[0], scale[1] * y * I[1], scale[2] * z * I[2]};
        sc_push_one(real, cap, n, i, e, kick, kick, fixed_t, pzd, eout);
    }
}

/* ImpactX Gauss2p5dPush (26.10: at fixed s, fixed_t = 0). With idx = (int)((t - bin_min) / bin_size) clamped to
 * [0, nb - 1] and the integrals I of sc_gauss2d_integrals: E_xy = lam_scale * prof[idx] * I[0|1], W = slope_scale *
 * slope[idx] * (I[2] + pz_const); (px, py) += kick * E_xy, pt -= kick * W, then (fixed_t) back to fixed s. */
void sc_gauss2p5d_push(double* real, int64_t cap, int64_t n, const int32_t* state, int32_t nint, double delta,
                       double sigx, double sigy, const double* prof, const double* slope, double bin_min,
                       double bin_size, int64_t nb, double lam_scale, double slope_scale, double pz_const,
                       double kick, int32_t fixed_t, double pzd, double* eout, int32_t nthreads)
{
    (void)nthreads;
#pragma omp parallel for schedule(dynamic, 4096) num_threads(nthreads)
    for (int64_t i = 0; i < n; ++i) {
        if (state[i]) continue;
        double I[3];
        sc_gauss2d_integrals(delta, nint, real[i], real[cap + i], sigx, sigy, I);
        int64_t const b = sc_bin(real[2 * cap + i], bin_min, bin_size, nb);
        double const fxy = lam_scale * prof[b], fz = slope_scale * slope[b];
        double const e[3] = {fxy * I[0], fxy * I[1], fz * (I[2] + pz_const)};
        sc_push_one(real, cap, n, i, e, kick, -kick, fixed_t, pzd, eout);
    }
}
