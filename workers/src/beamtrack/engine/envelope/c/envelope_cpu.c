/* Envelope tracking of a period in C: the covariance matrix through precomputed 6x6 slice maps and
 * ImpactX's envelope space-charge kicks, the reference particle through straight or arc pushes.
 *
 * The Python side (envelope/fast.py) writes the period as a list of steps, ENV_STEP doubles each:
 *   [0] kind: ENV_MAP (cm <- R cm R^T with R = maps[36 * [1]], then the reference push [2..5]),
 *             ENV_SC2D / ENV_SC3D (the space-charge kick of envelope/spacecharge.py; [3] ds [m],
 *             [4] the perveance K [1] (2D) or rcN = |q Q| / (4 pi eps0 m c^2) [m] (3D),
 *             [5] (beta gamma)^2 [1] (3D)),
 *             ENV_EDGE (sedge <- s: the entry of an element);
 *   [2] reference push: 0 none, 1 straight over ds = [3], 2 arc over ds = [3] turning by theta = [4] [rad]
 *       on the radius rc = [5] [m], 3 the momentum turned by theta = [4] [rad] in the x-z plane
 *       (elements/base.py push_ref_straight, push_ref_arc, bends.py ThinDipole.push_ref: the same
 *       operations in the same order, so the same rounding).
 * ref (10 doubles): s, x, y, z, t, px, py, pz, pt, sedge (refpart.py's units). env_track_steps runs the steps
 * nrepeat times (periods).
 * warn (6 doubles, counts added): [0] correlations above ENV_ERRTOL (3D), [1] invalid R_D arguments
 * (the first ones in [3..5]), [2] R_D past 100 iterations.
 * Sources: ImpactX src/tracking/envelope.cpp, src/envelope/spacecharge/EnvelopeSpaceChargePush.cpp,
 * Elliptic_Integral.cpp (Carlson's R_D with tolerance 1e-3, as envelope/spacecharge.py).
 */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <math.h>
#include <stdint.h>

#define ENV_STEP 8
#define ENV_ERRTOL 1.0e-3
#define ENV_LOLIM 6.0e-51
#define ENV_UPLIM 1.0e48

enum { ENV_MAP = 0, ENV_SC2D = 1, ENV_SC3D = 2, ENV_EDGE = 3 };
enum { REF_S = 0, REF_X, REF_Y, REF_Z, REF_T, REF_PX, REF_PY, REF_PZ, REF_PT, REF_SEDGE };

/* cm <- R cm R^T (6x6, row-major). The terms of each entry are summed in the order of k, skipping those
 * where R is exactly 0 (slice maps and kicks are sparse): the sum of all terms, for finite entries. */
static void env_apply(double* cm, const double* R)
{
    double tmp[36] = {0}, out[36] = {0};
    for (int i = 0; i < 6; ++i)
        for (int k = 0; k < 6; ++k) {
            double const r = R[6 * i + k];
            if (r == 0.0) continue;
            for (int j = 0; j < 6; ++j) tmp[6 * i + j] += r * cm[6 * k + j];
        }
    for (int j = 0; j < 6; ++j)
        for (int k = 0; k < 6; ++k) {
            double const r = R[6 * j + k];
            if (r == 0.0) continue;
            for (int i = 0; i < 6; ++i) out[6 * i + j] += tmp[6 * i + k] * r;
        }
    for (int n = 0; n < 36; ++n) cm[n] = out[n];
}

static void env_push_straight(double* ref, double ds)
{
    if (ds == 0.0) return;
    double const step = ds / sqrt(ref[REF_PT] * ref[REF_PT] - 1.0);
    ref[REF_X] += step * ref[REF_PX];
    ref[REF_Y] += step * ref[REF_PY];
    ref[REF_Z] += step * ref[REF_PZ];
    ref[REF_T] -= step * ref[REF_PT];
    ref[REF_S] += ds;
}

static void env_push_arc(double* ref, double ds, double theta, double rc)
{
    if (ds == 0.0 && theta == 0.0) return;
    double const B = sqrt(ref[REF_PT] * ref[REF_PT] - 1.0) / rc;
    double const c = cos(theta), s = sin(theta);
    double const px = ref[REF_PX], pz = ref[REF_PZ];
    ref[REF_PX] = px * c - pz * s;
    ref[REF_PZ] = pz * c + px * s;
    ref[REF_X] += (ref[REF_PZ] - pz) / B;
    ref[REF_Y] += (theta / B) * ref[REF_PY];
    ref[REF_Z] -= (ref[REF_PX] - px) / B;
    ref[REF_T] -= (theta / B) * ref[REF_PT];
    ref[REF_S] += ds;
}

static void env_push_turn(double* ref, double theta)
{
    double const c = cos(theta), s = sin(theta);
    double const px = ref[REF_PX], pz = ref[REF_PZ];
    ref[REF_PX] = px * c - pz * s;
    ref[REF_PZ] = pz * c + px * s;
}

/* Carlson's R_D(x, y, z) as ImpactX (and envelope/spacecharge.py elliptic_rd) evaluates it */
static double env_elliptic_rd(double x, double y, double z, double* warn)
{
    if (x < 0.0 || y < 0.0 || x + y < ENV_LOLIM || z < ENV_LOLIM || x > ENV_UPLIM || y > ENV_UPLIM || z > ENV_UPLIM) {
        if (warn[1] == 0.0) {
            warn[3] = x;
            warn[4] = y;
            warn[5] = z;
        }
        warn[1] += 1.0;
    }
    double xn = x, yn = y, zn = z, sigma = 0.0, power4 = 1.0;
    for (int it = 0; it < 100; ++it) {
        double const mu = (xn + yn + 3.0 * zn) * 0.2;
        double const xndev = (mu - xn) / mu, yndev = (mu - yn) / mu, zndev = (mu - zn) / mu;
        if (fmax(fabs(xndev), fmax(fabs(yndev), fabs(zndev))) < ENV_ERRTOL) {
            double const c1 = 3.0 / 14.0, c2 = 1.0 / 6.0, c3 = 9.0 / 22.0, c4 = 3.0 / 26.0;
            double const ea = xndev * yndev;
            double const eb = zndev * zndev;
            double const ec = ea - eb;
            double const ed = ea - 6.0 * eb;
            double const ef = ed + ec + ec;
            double const s1 = ed * (-c1 + 0.25 * c3 * ed - 1.5 * c4 * zndev * ef);
            double const s2 = zndev * (c2 * ef + zndev * (-c3 * ec + zndev * c4 * ea));
            return 3.0 * sigma + power4 * (1.0 + s1 + s2) / (mu * sqrt(mu));
        }
        double const xr = sqrt(xn), yr = sqrt(yn), zr = sqrt(zn);
        double const lamda = xr * (yr + zr) + yr * zr;
        sigma += power4 / (zr * (zn + lamda));
        power4 *= 0.25;
        xn = (xn + lamda) * 0.25;
        yn = (yn + lamda) * 0.25;
        zn = (zn + lamda) * 0.25;
    }
    warn[2] += 1.0;
    return 0.0;
}

static double env_corr(double v, double a, double b) { return a * b == 0.0 ? 0.0 : fabs(v / sqrt(a * b)); }

static void env_sc3d(double* cm, double ds, double rcN, double bg2, double* warn)
{
    double const coeff = ds * rcN / bg2 * (1.0 / (5.0 * sqrt(5.0)));
    double const x = cm[0], y = cm[14], z = bg2 * cm[28];
    double const corr = fmax(env_corr(cm[2], x, y), fmax(env_corr(cm[16], y, z), env_corr(cm[24], z, x)));
    if (corr > ENV_ERRTOL) warn[0] += 1.0;
    double R[36] = {0};
    for (int i = 0; i < 6; ++i) R[7 * i] = 1.0;
    R[6] = coeff * env_elliptic_rd(y, z, x, warn);
    R[20] = coeff * env_elliptic_rd(z, x, y, warn);
    R[34] = coeff * bg2 * env_elliptic_rd(x, y, z, warn);
    env_apply(cm, R);
}

static void env_sc2d(double* cm, double ds, double perveance)
{
    double const sigma = sqrt(cm[0] * cm[14] - cm[2] * cm[2]);
    double const D = (sigma + cm[0]) * (sigma + cm[14]) - cm[2] * cm[2];
    double const coeff = perveance * ds / (2.0 * D);
    double R[36] = {0};
    for (int i = 0; i < 6; ++i) R[7 * i] = 1.0;
    R[6] = coeff * (sigma + cm[14]);
    R[8] = R[18] = coeff * (-cm[2]);
    R[20] = coeff * (sigma + cm[0]);
    env_apply(cm, R);
}

/* Run the nstep steps (a period or a slice of one) nrepeat times on cm (36 doubles) and ref (10 doubles);
 * returns nstep * nrepeat, or -1 at a step of unknown kind. */
int64_t env_track_steps(double* cm, double* ref, const double* maps, const double* steps, int64_t nstep, int64_t nrepeat,
                        double* warn)
{
    for (int64_t rep = 0; rep < nrepeat; ++rep) {
        for (int64_t n = 0; n < nstep; ++n) {
            const double* st = steps + ENV_STEP * n;
            int const kind = (int)st[0];
            if (kind == ENV_MAP) {
                env_apply(cm, maps + 36 * (int64_t)st[1]);
                int const push = (int)st[2];
                if (push == 1)
                    env_push_straight(ref, st[3]);
                else if (push == 2)
                    env_push_arc(ref, st[3], st[4], st[5]);
                else if (push == 3)
                    env_push_turn(ref, st[4]);
            } else if (kind == ENV_SC3D) {
                env_sc3d(cm, st[3], st[4], st[5], warn);
            } else if (kind == ENV_SC2D) {
                env_sc2d(cm, st[3], st[4]);
            } else if (kind == ENV_EDGE) {
                ref[REF_SEDGE] = ref[REF_S];
            } else {
                return -1;
            }
        }
    }
    return nstep * nrepeat;
}
