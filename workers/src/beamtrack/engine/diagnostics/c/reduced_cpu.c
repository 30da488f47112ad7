/* Weighted sums of ImpactX's reduced beam characteristics (src/diagnostics/ReducedBeamCharacteristics.cpp)
 * in one pass over the particle block, serial or OpenMP.
 *
 * The block is beamtrack's (nrows, cap) real array: rows x, y, t, px, py, pt, weight, then (with spin)
 * sx, sy, sz; a particle is alive where state == 0. Sums are taken about a shift K (the mean of an
 * evenly strided sample of alive particles, snapped to the sampled value nearest it), so that the centred second moments
 *     <dq dp> = S2_qp / W - (S1_q / W) (S1_p / W),   S1_q = sum w (q - K_q),  S2_qp = sum w (q - K_q)(p - K_p)
 * lose no digits to a large offset: (S1/W)^2 is of the order of the variance, not of the offset.
 * Each thread sums chunks of RBC_CHUNK particles into fresh accumulators and adds the chunk sums
 * into its totals (cascade summation); thread totals are added in thread order, so a result depends
 * only on the data and the thread count.
 *
 * out (RBC_NOUT doubles):
 *   [0] alive count, [1] W = sum w, [2..7] K, [8..13] S1, [14..34] S2 (upper triangle, row-major),
 *   [35..40] minima, [41..46] maxima, [47..52] NaN counts of the six coordinates,
 *   [53..55] spin K, [56..58] spin S1, [59..61] spin S2 (diagonal); spin entries only when nspin = 3.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define RBC_CHUNK 512
#define RBC_SAMPLE 256
#define RBC_NACC 62

enum { O_CNT = 0, O_W = 1, O_K = 2, O_S1 = 8, O_S2 = 14, O_MIN = 35, O_MAX = 41, O_NAN = 47,
       O_SK = 53, O_SS1 = 56, O_SS2 = 59 };

static int64_t rbc_shift(const double* real, int64_t cap, int64_t n, const int32_t* state, int nrow_s, double* k)
{
    int64_t const step = n > RBC_SAMPLE ? n / RBC_SAMPLE : 1;
    int64_t found = 0;
    double acc[9] = {0};
    for (int64_t i = 0; i < n; i += step) {
        if (state[i]) continue;
        for (int r = 0; r < 6; ++r) acc[r] += real[r * cap + i];
        for (int r = 0; r < nrow_s; ++r) acc[6 + r] += real[(7 + r) * cap + i];
        ++found;
    }
    if (!found) {
        for (int64_t i = 0; i < n; ++i) {
            if (state[i]) continue;
            for (int r = 0; r < 6; ++r) acc[r] = real[r * cap + i];
            for (int r = 0; r < nrow_s; ++r) acc[6 + r] = real[(7 + r) * cap + i];
            found = 1;
            break;
        }
    }
    double best[9];
    for (int r = 0; r < 6 + nrow_s; ++r) {
        double const v = found ? acc[r] / (double)found : 0.0;
        k[r] = isfinite(v) ? v : 0.0;
        best[r] = INFINITY;
    }
    /* snap K to the sampled value nearest the sample mean: identical values then give exactly 0 spread */
    for (int64_t i = 0; i < n && found; i += step) {
        if (state[i]) continue;
        for (int r = 0; r < 6 + nrow_s; ++r) {
            double const q = real[(r < 6 ? r : r + 1) * cap + i], dist = fabs(q - acc[r] / (double)found);
            if (dist < best[r]) {
                best[r] = dist;
                k[r] = q;
            }
        }
    }
    return found;
}

/* One thread's share [lo, hi) of the particles into acc (RBC_NACC doubles, zeroed by the caller). */
static void rbc_range(const double* real, int64_t cap, const int32_t* state, int nrow_s, const double* k,
                      int64_t lo, int64_t hi, double* acc)
{
    const double* w = real + 6 * cap;
    for (int r = 0; r < 6; ++r) {
        acc[O_MIN + r] = INFINITY;
        acc[O_MAX + r] = -INFINITY;
    }
    /* per chunk: the shifted coordinates d and w d into L1-sized buffers, then each sum as its own
     * vectorised dot product over them */
    double d[6][RBC_CHUNK], wd[6][RBC_CHUNK], wa[RBC_CHUNK];
    for (int64_t c0 = lo; c0 < hi; c0 += RBC_CHUNK) {
        int64_t const c1 = c0 + RBC_CHUNK < hi ? c0 + RBC_CHUNK : hi, m = c1 - c0;
        double cnt = 0.0, sw = 0.0, s1[6], s2[21], mn[6], mx[6], nn[6];
        double ss1[3] = {0}, ss2[3] = {0};
#pragma omp simd reduction(+: cnt, sw)
        for (int64_t j = 0; j < m; ++j) {
            int const a = state[c0 + j] == 0;
            wa[j] = a ? w[c0 + j] : 0.0;
            cnt += a ? 1.0 : 0.0;
            sw += wa[j];
        }
        for (int r = 0; r < 6; ++r) {
            const double* q = real + r * cap + c0;
            double const kr = k[r];
            double lo_ = INFINITY, hi_ = -INFINITY, t1 = 0.0, tn = 0.0;
#pragma omp simd reduction(+: t1, tn) reduction(min: lo_) reduction(max: hi_)
            for (int64_t j = 0; j < m; ++j) {
                int const a = state[c0 + j] == 0;
                double const dj = a ? q[j] - kr : 0.0;
                d[r][j] = dj;
                wd[r][j] = wa[j] * dj;
                t1 += wa[j] * dj;
                tn += (a && q[j] != q[j]) ? 1.0 : 0.0;
                double const ql = a ? q[j] : INFINITY, qh = a ? q[j] : -INFINITY;
                lo_ = ql < lo_ ? ql : lo_; /* not fmin: a libm call per element; a NaN is counted in tn */
                hi_ = qh > hi_ ? qh : hi_;
            }
            s1[r] = t1;
            nn[r] = tn;
            mn[r] = lo_;
            mx[r] = hi_;
        }
        /* a row of the 6x6 at a time: six independent sums, so the loop is not bound by the add latency */
        int t = 0;
        for (int r = 0; r < 6; ++r) {
            double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0;
            const double* wr = wd[r];
#pragma omp simd reduction(+: a0, a1, a2, a3, a4, a5)
            for (int64_t j = 0; j < m; ++j) {
                a0 += wr[j] * d[0][j];
                a1 += wr[j] * d[1][j];
                a2 += wr[j] * d[2][j];
                a3 += wr[j] * d[3][j];
                a4 += wr[j] * d[4][j];
                a5 += wr[j] * d[5][j];
            }
            double const row[6] = {a0, a1, a2, a3, a4, a5};
            for (int c = r; c < 6; ++c) s2[t++] = row[c];
        }
        if (nrow_s) {
            for (int64_t i = c0; i < c1; ++i) {
                if (state[i]) continue;
                for (int r = 0; r < nrow_s; ++r) {
                    double const d = real[(7 + r) * cap + i] - k[6 + r];
                    ss1[r] += w[i] * d;
                    ss2[r] += w[i] * d * d;
                }
            }
        }
        acc[O_CNT] += cnt;
        acc[O_W] += sw;
        for (int r = 0; r < 6; ++r) {
            acc[O_S1 + r] += s1[r];
            acc[O_NAN + r] += nn[r];
            acc[O_MIN + r] = fmin(acc[O_MIN + r], mn[r]);
            acc[O_MAX + r] = fmax(acc[O_MAX + r], mx[r]);
        }
        for (int t = 0; t < 21; ++t) acc[O_S2 + t] += s2[t];
        for (int r = 0; r < nrow_s; ++r) {
            acc[O_SS1 + r] += ss1[r];
            acc[O_SS2 + r] += ss2[r];
        }
    }
}

/* nspin: 0, or 3 for a block with spin rows 7..9. Returns the alive count. */
int64_t rbc_sums(const double* real, int64_t cap, int64_t n, const int32_t* state, int32_t nspin, double* out,
                 int32_t nthreads)
{
    int const nrow_s = nspin == 3 ? 3 : 0;
    double k[9] = {0};
    memset(out, 0, RBC_NACC * sizeof(double));
    if (rbc_shift(real, cap, n, state, nrow_s, k) == 0) return 0;
    int nt = nthreads > 0 ? nthreads : 1;
#ifndef _OPENMP
    nt = 1;
#endif
    int64_t const nchunks = (n + RBC_CHUNK - 1) / RBC_CHUNK;
    if (nt > nchunks) nt = (int)nchunks;
    double* part = calloc((size_t)nt * RBC_NACC, sizeof(double));
    if (!part) return -1;
#pragma omp parallel num_threads(nt)
    {
        int tid = 0, used = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        used = omp_get_num_threads();
#endif
        /* whole chunks per thread, so the chunk boundaries (and the sums) do not depend on the thread count
         * more than through the order of the thread totals */
        int64_t const c_lo = nchunks * tid / used, c_hi = nchunks * (tid + 1) / used;
        int64_t const lo = c_lo * RBC_CHUNK, hi = c_hi * RBC_CHUNK < n ? c_hi * RBC_CHUNK : n;
        double* acc = part + (size_t)tid * RBC_NACC;
        for (int r = 0; r < 6; ++r) {
            acc[O_MIN + r] = INFINITY;
            acc[O_MAX + r] = -INFINITY;
        }
        if (lo < hi) rbc_range(real, cap, state, nrow_s, k, lo, hi, acc);
        if (tid == 0 && used < nt) /* fewer threads than asked: the last shares stay neutral */
            for (int t = used; t < nt; ++t)
                for (int r = 0; r < 6; ++r) {
                    part[(size_t)t * RBC_NACC + O_MIN + r] = INFINITY;
                    part[(size_t)t * RBC_NACC + O_MAX + r] = -INFINITY;
                }
    }
    for (int r = 0; r < 6; ++r) {
        out[O_MIN + r] = INFINITY;
        out[O_MAX + r] = -INFINITY;
    }
    for (int t = 0; t < nt; ++t) {
        const double* acc = part + (size_t)t * RBC_NACC;
        for (int j = 0; j < RBC_NACC; ++j) {
            if (j >= O_MIN && j < O_NAN)
                out[j] = j < O_MAX ? fmin(out[j], acc[j]) : fmax(out[j], acc[j]);
            else if (j < O_K || j >= O_S1)
                out[j] += acc[j];
        }
    }
    free(part);
    for (int r = 0; r < 6; ++r) out[O_K + r] = k[r];
    for (int r = 0; r < nrow_s; ++r) out[O_SK + r] = k[6 + r];
    return (int64_t)out[O_CNT];
}

/* rbc_sums of nvar beams of n particles each, held side by side in one (nrows, cap) block: beam v is the
 * columns [v * n, (v + 1) * n) (a packed run, beamtrack.engine.packed). out: nvar rows of RBC_NOUT doubles,
 * row v exactly what rbc_sums(beam v as its own block, n, ..., split) gives: the same shift, the same
 * chunks, summed as `split` threads would sum them (thread shares added in thread order), whichever
 * thread takes the beam. The beams are shared out among nthreads threads. Returns 0, or -1 when the
 * per-thread sums find no memory. */
int64_t rbc_sums_batch(const double* real, int64_t cap, int64_t nvar, int64_t n, const int32_t* state,
                       int32_t nspin, double* out, int32_t split, int32_t nthreads)
{
    int const nrow_s = nspin == 3 ? 3 : 0;
    int64_t const nchunks = (n + RBC_CHUNK - 1) / RBC_CHUNK;
    int nt = split > 0 ? split : 1;
#ifndef _OPENMP
    nt = 1;
#endif
    if (nt > nchunks) nt = nchunks > 0 ? (int)nchunks : 1;
    int64_t failed = 0;
    int team = nthreads > 0 ? nthreads : 1;
    if (team > nvar) team = nvar > 0 ? (int)nvar : 1;
#pragma omp parallel num_threads(team) reduction(+: failed)
    {
        double* part = calloc((size_t)nt * RBC_NACC, sizeof(double));
        if (!part) failed += 1;
#pragma omp for schedule(dynamic, 4)
        for (int64_t v = 0; v < nvar; ++v) {
            double* o = out + (size_t)v * RBC_NACC;
            const double* r = real + v * n;
            const int32_t* st = state + v * n;
            double k[9] = {0};
            memset(o, 0, RBC_NACC * sizeof(double));
            if (!part || rbc_shift(r, cap, n, st, nrow_s, k) == 0) continue;
            memset(part, 0, (size_t)nt * RBC_NACC * sizeof(double));
            for (int t = 0; t < nt; ++t) { /* thread t's share, as rbc_sums's team of nt would take it */
                int64_t const c_lo = nchunks * t / nt, c_hi = nchunks * (t + 1) / nt;
                int64_t const lo = c_lo * RBC_CHUNK, hi = c_hi * RBC_CHUNK < n ? c_hi * RBC_CHUNK : n;
                double* acc = part + (size_t)t * RBC_NACC;
                for (int q = 0; q < 6; ++q) {
                    acc[O_MIN + q] = INFINITY;
                    acc[O_MAX + q] = -INFINITY;
                }
                if (lo < hi) rbc_range(r, cap, st, nrow_s, k, lo, hi, acc);
            }
            for (int q = 0; q < 6; ++q) {
                o[O_MIN + q] = INFINITY;
                o[O_MAX + q] = -INFINITY;
            }
            for (int t = 0; t < nt; ++t) {
                const double* acc = part + (size_t)t * RBC_NACC;
                for (int j = 0; j < RBC_NACC; ++j) {
                    if (j >= O_MIN && j < O_NAN)
                        o[j] = j < O_MAX ? fmin(o[j], acc[j]) : fmax(o[j], acc[j]);
                    else if (j < O_K || j >= O_S1)
                        o[j] += acc[j];
                }
            }
            for (int q = 0; q < 6; ++q) o[O_K + q] = k[q];
            for (int q = 0; q < nrow_s; ++q) o[O_SK + q] = k[6 + q];
        }
        free(part);
    }
    return failed ? -1 : 0;
}

/* libm's pow, called as a function: NumPy's float64 scalar `c ** 2` calls it, and the compiler would
 * otherwise fold pow(c, 2.0) into c * c, which differs from it in the last bit now and then. */
static double (*volatile rbc_pow)(double, double) = pow;

/* max(a, 0) as NumPy's maximum takes it: a NaN stays NaN, -0.0 stays -0.0. */
static double rbc_max0(double a) { return (a >= 0.0 || a != a) ? a : 0.0; }

/* ImpactX's reduced beam characteristics (diagnostics/reduced.py, characteristics_from_moments) of nv
 * beams from their sums (rbc_sums rows of RBC_NACC doubles): the RBC_NCOL columns of each row of out,
 * in the order of REDUCED_COLUMNS (a row's columns after step and s); bg[v] the reference's beta gamma, charge[v] its charge [C].
 * Operation for operation as the NumPy code, so every value is bit-identical to its float (the build
 * flags keep the compiler from contracting a * b + c into an fma); a beam of no alive particle gives
 * NaN moments, Twiss and extrema, 0 emittances and dispersions, charge 0, as there. */
#define RBC_NCOL 41
void rbc_characteristics(const double* sums, int64_t nv, const double* bg, const double* charge, double* out)
{
    for (int64_t v = 0; v < nv; ++v) {
        const double* s = sums + (size_t)v * RBC_NACC;
        double* o = out + (size_t)v * RBC_NCOL;
        int const empty = s[O_CNT] == 0.0;
        double const w = empty ? 0.0 : s[O_W];
        double m[6], mean[6], mn[6], mx[6], cov[6][6], ms[6], sig[6];
        for (int i = 0; i < 6; ++i) {
            m[i] = s[O_S1 + i] / w;
            mean[i] = empty ? NAN : s[O_K + i] + m[i];
            mn[i] = (empty || s[O_NAN + i] > 0) ? NAN : s[O_MIN + i];
            mx[i] = (empty || s[O_NAN + i] > 0) ? NAN : s[O_MAX + i];
        }
        for (int i = 0, t = 0; i < 6; ++i)
            for (int j = i; j < 6; ++j, ++t) {
                cov[i][j] = empty ? NAN : s[O_S2 + t] / w - m[i] * m[j];
                cov[j][i] = empty ? NAN : s[O_S2 + t] / w - m[j] * m[i];
            }
        for (int i = 0; i < 6; ++i) {
            ms[i] = cov[i][i] = rbc_max0(cov[i][i]); /* rounding must not give a negative variance */
            sig[i] = sqrt(ms[i]);
        }
        double const pt_ms = ms[5];
        double emit[3], disp[2], disp_p[2], alpha[3], beta[3];
        for (int i = 0; i < 3; ++i) {
            double const e2 = ms[i] * ms[i + 3] - rbc_pow(cov[i][i + 3], 2.0);
            emit[i] = e2 > 0.0 ? sqrt(e2) : 0.0;
        }
        for (int i = 0; i < 2; ++i) {
            disp[i] = pt_ms > 0.0 ? -cov[i][5] / pt_ms : 0.0;
            disp_p[i] = pt_ms > 0.0 ? -cov[i + 3][5] / pt_ms : 0.0;
            /* the moments with the dispersive part taken out (twiss_columns) */
            double const d = disp[i], dp = disp_p[i];
            double const q_msd = ms[i] - pt_ms * d * d, p_msd = ms[i + 3] - pt_ms * dp * dp;
            double const qp_d = cov[i][i + 3] - pt_ms * d * dp;
            double const emit_d = sqrt(q_msd * p_msd - qp_d * qp_d);
            alpha[i] = -qp_d / emit_d;
            beta[i] = q_msd / emit_d;
        }
        alpha[2] = -cov[2][5] / emit[2];
        beta[2] = ms[2] / emit[2];
        int c = 0;
        for (int i = 0; i < 6; ++i) { /* mean, min, max of x, y, t; sigmas; the same of px, py, pt */
            o[c++] = mean[i];
            o[c++] = mn[i];
            o[c++] = mx[i];
            if (i == 2 || i == 5)
                for (int j = i - 2; j <= i; ++j) o[c++] = sig[j];
        }
        for (int i = 0; i < 3; ++i) o[c++] = emit[i];
        for (int i = 0; i < 3; ++i) o[c++] = alpha[i];
        for (int i = 0; i < 3; ++i) o[c++] = beta[i];
        o[c++] = disp[0];
        o[c++] = disp_p[0];
        o[c++] = disp[1];
        o[c++] = disp_p[1];
        for (int i = 0; i < 3; ++i) o[c++] = emit[i] * bg[v];
        o[c++] = w * charge[v] + 0.0; /* + 0.0: no "-0" for an empty beam */
    }
}
