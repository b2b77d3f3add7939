"""Fits the float32 polynomials of src/simd/math.rs (exp: Remez, minimax in relative error;
log1p: Chebyshev interpolation of the atanh series' tail).

Run: python3 tools/fit_polynomials.py   (needs mpmath only)

Each fit prints its coefficients (rounded to float32, as used) and the maximum relative error of
the polynomial itself in exact arithmetic, measured on a dense grid; the float32 evaluation adds
its roundings on top, which the tests in src/simd/math.rs measure.
"""
import mpmath as mp
import struct

mp.mp.dps = 50


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


def remez(target, basis, lo, hi, weight, iters=30):
    """Minimax fit of target(x) ~ sum c_k basis_k(x) with relative weight on [lo, hi]."""
    n = len(basis)
    # Chebyshev extrema as the first reference.
    xs = [mp.mpf(lo + hi) / 2 + mp.mpf(hi - lo) / 2 * mp.cos(mp.pi * i / n) for i in range(n + 1)]
    xs.sort()
    for _ in range(iters):
        # Solve sum c_k b_k(x_i) + (-1)^i E / w(x_i) = t(x_i).
        A = mp.matrix(n + 1, n + 1)
        b = mp.matrix(n + 1, 1)
        for i, x in enumerate(xs):
            for k in range(n):
                A[i, k] = basis[k](x)
            A[i, n] = (-1) ** i / weight(x)
            b[i] = target(x)
        sol = mp.lu_solve(A, b)
        c = [sol[k] for k in range(n)]
        err = lambda x: (sum(ck * bk(x) for ck, bk in zip(c, basis)) - target(x)) * weight(x)
        # New reference: extrema of the error between sign changes.
        grid = [lo + (hi - lo) * mp.mpf(i) / 4000 for i in range(4001)]
        vals = [err(x) for x in grid]
        ext = []
        seg = [0]
        for i in range(1, len(grid)):
            if (vals[i] > 0) != (vals[seg[-1]] > 0):
                ext.append(max(seg, key=lambda j: abs(vals[j])))
                seg = [i]
            else:
                seg.append(i)
        ext.append(max(seg, key=lambda j: abs(vals[j])))
        if len(ext) < n + 1:
            break
        while len(ext) > n + 1:
            # Drop the smaller end.
            if abs(vals[ext[0]]) < abs(vals[ext[-1]]):
                ext.pop(0)
            else:
                ext.pop()
        xs = [grid[j] for j in ext]
    return c


def max_rel(poly, target, lo, hi, n=20000):
    worst = 0
    for i in range(n + 1):
        x = lo + (hi - lo) * mp.mpf(i) / n
        t = target(x)
        if t != 0:
            worst = max(worst, abs((poly(x) - t) / t))
    return worst


def show(name, coeffs):
    print(name)
    for c in coeffs:
        print(f"    {f32(c)!r:>18},  // {mp.nstr(c, 20)}")


# exp(r) = 1 + r + r^2 * P(r) on |r| <= ln2/2 (after Cody-Waite reduction).
half_ln2 = mp.log(2) / 2
deg = 4
basis = [(lambda k: (lambda r: r ** (k + 2)))(k) for k in range(deg)]
c = remez(lambda r: mp.exp(r) - 1 - r, basis, -half_ln2, half_ln2, lambda r: 1 / mp.exp(r))
show("exp: coefficients of r^2 .. r^%d" % (deg + 1), c)
cf = [mp.mpf(f32(x)) for x in c]
p = lambda r: 1 + r + sum(ck * r ** (k + 2) for k, ck in enumerate(cf))
print("    max relative error (float32 coefficients):", mp.nstr(max_rel(p, mp.exp, -half_ln2, half_ln2), 3))

# log1p(v) = 2 atanh(z), z = v/(2 + v): for v in [-1/2, 1], |z| <= 1/3 and
# 2 atanh(z) = 2z + z*w*R(w), w = z^2 in [0, 1/9]. R by Chebyshev interpolation (near-minimax).
R = lambda w: (2 * mp.atanh(mp.sqrt(w)) / mp.sqrt(w) - 2) / w if w > mp.mpf("1e-10") else mp.mpf(2) / 3 + 2 * w / 5
poly = mp.chebyfit(R, [0, mp.mpf(1) / 9], 4)
coeffs = list(reversed(poly))  # w^0 first
show("log1p: coefficients of R(w), w^0 .. w^3", coeffs)
cf = [mp.mpf(f32(x)) for x in coeffs]
worst = 0
for i in range(1, 2001):
    z = mp.mpf(i) / 6000
    w = z * z
    v = 2 * z + z * w * sum(c * w**k for k, c in enumerate(cf))
    worst = max(worst, abs(v / (2 * mp.atanh(z)) - 1))
print("    max relative error (float32 coefficients):", mp.nstr(worst, 3))

# log1p(e) for e in [0, 1] without a division (`math::log1p_of_unit`): j = round(15·e) picks
# r_j ~ 1/(1 + j/15) (float32, chosen below) and ln_j = -ln(r_j) (float32) from two 16-entry tables; then
# t = (1 + e)·r_j - 1 in one FMA, |t| <= 1/30 + 2^-23, and log1p(e) = ln_j + log1p(t) with
# log1p(t) = t + t^2·Q(t), Q by Chebyshev interpolation (near-minimax).
# Each r_j is the float32 within 1000 ulp of 1/(1 + j/15) whose -ln(r_j) is nearest a float32
# (Tang's trick), so that the table of logarithms is all but exact.
def bits(x):
    return struct.unpack("I", struct.pack("f", x))[0]


def from_bits(b):
    return struct.unpack("f", struct.pack("I", b))[0]


def ln_residue(r):
    exact = -mp.log(mp.mpf(r))
    if exact == 0:
        return 0
    lo = f32(exact)
    ulp = abs(from_bits(bits(abs(lo)) + 1) - abs(lo))
    return abs(mp.mpf(lo) - exact) / ulp


tabs = []
for j in range(16):
    centre = bits(f32(1 / (1 + mp.mpf(j) / 15)))
    cands = [from_bits(b) for b in range(centre - 1000, centre + 1001)] if 0 < j < 15 else [from_bits(centre)]
    tabs.append(min(cands, key=ln_residue))
print("log1p_of_unit: worst table residue (ulp):", mp.nstr(max(ln_residue(r) for r in tabs), 3))
print("log1p_of_unit: r_j")
print("    " + ", ".join(repr(r) for r in tabs))
print("log1p_of_unit: ln_j = -ln(r_j)")
print("    " + ", ".join(repr(f32(-mp.log(mp.mpf(r)))) for r in tabs))
t_max = max(abs((1 + mp.mpf(j + s * mp.mpf("0.5")) / 15) * mp.mpf(r) - 1)
            for j, r in enumerate(tabs) for s in (-1, 1) if 0 <= (j + s * 0.5) / 15 <= 1)
t_max = max(t_max, mp.mpf(1) / 30) * (1 + mp.mpf(2) ** -20)
print("    |t| <=", mp.nstr(t_max, 8))
Q = lambda t: (mp.log1p(t) - t) / t**2 if abs(t) > mp.mpf("1e-12") else mp.mpf(-0.5) + t / 3
coeffs = list(reversed(mp.chebyfit(Q, [-t_max, t_max], 4)))  # t^0 first
show("log1p_of_unit: coefficients of Q(t), t^0 .. t^3", coeffs)
cf = [mp.mpf(f32(x)) for x in coeffs]
p = lambda t: t + t**2 * sum(ck * t**k for k, ck in enumerate(cf))
print("    max relative error (float32 coefficients):", mp.nstr(max_rel(p, mp.log1p, -t_max, t_max), 3))

# exp(x) through a 16-entry table (`math::exp_of_table`, backends whose lookup is cheap:
# `Simd::TABLE_EXP`): x = (k/16)·ln2 + r with k = round(16·x/ln2), |r| <= ln2/32, and
# e^x = 2^floor(k/16) · 2^((k mod 16)/16) · e^r, where e^r = 1 + r + r^2·(c2 + c3·r).
r_max = mp.log(2) / 32 * (1 + mp.mpf(2) ** -20)
# (e^r - 1 - r)/r^2 by Chebyshev interpolation (near-minimax), as for log1p_of_unit.
E = lambda r: (mp.exp(r) - 1 - r) / r**2 if abs(r) > mp.mpf("1e-12") else mp.mpf(0.5) + r / 6
c = list(reversed(mp.chebyfit(E, [-r_max, r_max], 2)))  # r^0 first
show("exp_of_table: coefficients of r^2, r^3", c)
cf = [mp.mpf(f32(x)) for x in c]
p = lambda r: 1 + r + sum(ck * r ** (k + 2) for k, ck in enumerate(cf))
print("    max relative error (float32 coefficients):", mp.nstr(max_rel(p, mp.exp, -r_max, r_max), 3))
table = [f32(mp.mpf(2) ** (mp.mpf(j) / 16)) for j in range(16)]
print("exp_of_table: 2^(j/16), worst rounding (ulp):",
      mp.nstr(max(abs(mp.mpf(t) - mp.mpf(2) ** (mp.mpf(j) / 16)) / (mp.mpf(2) ** -23) for j, t in enumerate(table)), 3))
print("    " + ", ".join(repr(t) for t in table))
