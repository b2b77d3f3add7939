#!/usr/bin/env python3
"""Golden values for focal-loss, computed independently in high precision with mpmath.

Regenerate (from the repository root):

    python3 golden/golden.py > golden/cases.txt

The script is deterministic: the same mpmath gives the same file, byte for byte.

Every value is computed from DESIGN.md section 2 at the exact float32 inputs, at mp.dps = 60:
losses from the definitions, gradients from the section 2 closed forms (in their stable
arrangements: 1 - p from the other probabilities, log Z through log1p, p - y' as
p(1 - y') - (1 - p)y'). Before a case is written the script asserts, and aborts on failure:

  1. every input is an exactly representable float32 (the decimal string is that value);
  2. the literals do not move when the whole computation is redone at mp.dps = 120
     (relative 1e-45, so all 25 printed digits are correct);
  3. every loss agrees with a naive evaluation of the definition (log p = x - log sum e^x,
     1 - p computed as 1 - p, log(1 + e^x)) at mp.dps = 1200;
  4. every gradient agrees with a central finite difference of that naive loss at
     mp.dps = 1200 with step 1e-500 (error far below 1e-35 relative to the contract's scale S,
     so even gradients of size e^-1000 are checked relatively, which a 1e-20 step at 60
     digits could not do);
  5. for infinite logits (the limits of DESIGN 2.1/2.2), the limit values agree with the
     closed form at a large finite stand-in (+-400 for sigmoid, 400 below the row's smallest
     finite logit for a masked softmax class), which is itself checked by steps 3 and 4;
     an infinite limit loss must grow between two stand-ins.
"""

import struct
import sys

import mpmath
from mpmath import mp, mpf

DPS = 60          # precision of the literals
DPS_CHECK = 120   # recomputation that must reproduce them
FD_DPS = 1200     # naive definition and finite differences
FD_STEP_EXP = 500 # finite-difference step 10^-FD_STEP_EXP
BIG = 400         # finite stand-in for an infinite logit
DIGITS = 25       # significant digits written

INF = mpf('inf')

LS01 = "0.100000001490116119384765625"  # float32(0.1), exactly


# ---------------------------------------------------------------------------------------------
# Inputs


def check_f32(tok):
    """Assert that a decimal token is exactly a float32 value (or +-inf, nan)."""
    if tok in ("inf", "-inf", "nan"):
        return
    d = float(tok)
    f = struct.unpack("<f", struct.pack("<f", d))[0]
    assert f == d, "input %s is not a float32" % tok
    with mp.workdps(400):
        assert mpf(tok) == mpf(d), "input %s is not exactly the float %r" % (tok, d)


def val(tok):
    """The exact value of an input token (mpf; -0 becomes 0, which has the same limits)."""
    if tok == "nan":
        return mpf("nan")
    return mpf(tok)


def is_nan(v):
    return mp.isnan(v)


# ---------------------------------------------------------------------------------------------
# Sigmoid tasks (DESIGN 2.1)


def softplus(z):
    if z > 0:
        return z + mp.log1p(mp.exp(-z))
    return mp.log1p(mp.exp(z))


def sig_targets(y, ls):
    y1 = y * (1 - ls) + ls / 2
    ny1 = (1 - y) * (1 - ls) + ls / 2
    return y1, ny1


def sig_alpha_t(a, y1, ny1):
    if a is None:
        return mpf(1)
    return a * y1 + (1 - a) * ny1


def powg(m, gamma):
    """m^gamma with 0^0 = 1."""
    if gamma == 0:
        return mpf(1)
    if m == 0:
        return mpf(0)
    return m ** gamma


def prod0(*fs):
    """Product in which an exact zero factor wins over an infinite one (0 * inf = 0)."""
    if any(f == 0 for f in fs):
        return mpf(0)
    r = mpf(1)
    for f in fs:
        r *= f
    return r


def sigmoid_elem(x, y, ls, a, gamma):
    """Closed form at the current precision: (loss, grad, S) for one element."""
    if is_nan(x):
        return mpf("nan"), mpf("nan"), mpf("nan")
    y1, ny1 = sig_targets(y, ls)
    at = sig_alpha_t(a, y1, ny1)
    if mp.isinf(x):
        if x > 0:   # p = 1: m = 1 - y', ce = (1 - y') * inf, gradient factor p - y' = 1 - y'
            m, ce_mass, diff = ny1, ny1, ny1
        else:       # p = 0: m = y', ce = y' * inf, gradient factor p - y' = -y'
            m, ce_mass, diff = y1, y1, -y1
        mg = powg(m, gamma)
        loss = prod0(at, mg, ce_mass, INF)
        grad = prod0(at, mg, diff)          # gamma * r * ce -> 0 in both limits
        s = prod0(at, mg, m)
        return loss, grad, s
    p = 1 / (1 + mp.exp(-x))
    q = 1 / (1 + mp.exp(x))                 # sigma(-x), never 1 - p
    m = p * ny1 + q * y1
    ce = prod0(y1, softplus(-x)) + prod0(ny1, softplus(x))
    mg = powg(m, gamma)
    r = p * q * (ny1 - y1) / m
    loss = prod0(at, mg, ce)
    grad = prod0(at, mg, gamma * r * ce + (p * ny1 - q * y1))
    s = prod0(at, mg, gamma * abs(r) * ce + m)
    return loss, grad, s


def sigmoid_elem_naive(x, y, ls, a, gamma):
    """The definition, written plainly (finite x only), for the FD_DPS checks."""
    y1 = y * (1 - ls) + ls / 2
    ny1 = 1 - y1
    at = 1 if a is None else a * y1 + (1 - a) * (1 - y1)
    p = 1 / (1 + mp.exp(-x))
    m = p * (1 - y1) + (1 - p) * y1
    ce = y1 * mp.log(1 + mp.exp(-x)) + ny1 * mp.log(1 + mp.exp(x))
    mg = mpf(1) if gamma == 0 else m ** gamma
    return at * mg * ce


# ---------------------------------------------------------------------------------------------
# Softmax tasks (DESIGN 2.2, 2.3)


def softmax_row(xs, taus, ws, gamma):
    """Closed form at the current precision: (loss, grads, S) for one row."""
    C = len(xs)
    if any(is_nan(x) or (mp.isinf(x) and x > 0) for x in xs):
        nan = mpf("nan")
        return nan, [nan] * C, [nan] * C
    fin = [j for j in range(C) if not mp.isinf(xs[j])]
    assert len(fin) >= 2, "rows with fewer than two finite logits are not generated"
    M = max(xs[j] for j in fin)
    amax = next(j for j in fin if xs[j] == M)
    e = [mp.exp(xs[j] - M) if j in fin else mpf(0) for j in range(C)]
    z1 = sum(e[j] for j in range(C) if j != amax)   # Z - 1, Z = sum e
    logz = mp.log1p(z1)
    Z = 1 + z1
    p, omp, l = [], [], []
    for j in range(C):
        others = sum(e[i] for i in range(C) if i != j)
        p.append(e[j] / Z)
        omp.append(others / Z)                       # 1 - p_j as the sum of the others
        l.append(xs[j] - M - logz if j in fin else -INF)
    g = []
    for j in range(C):
        if j in fin:
            g.append(powg(omp[j], gamma) * (gamma * p[j] * l[j] / omp[j] - 1))
        else:
            g.append(mpf(-1))                        # p = 0, p*l = 0
    wt = [ws[j] * taus[j] for j in range(C)]
    loss = mpf(0)
    for j in range(C):
        if wt[j] != 0:
            loss += -wt[j] * powg(omp[j], gamma) * l[j] if j in fin else INF
    T = [wt[j] * g[j] if wt[j] != 0 else mpf(0) for j in range(C)]
    grads, S = [], []
    for k in range(C):
        rest = sum(T[j] for j in range(C) if j != k)
        grads.append(T[k] * omp[k] - p[k] * rest)   # = T_k - p_k * sum_j T_j, without cancellation
        S.append(abs(T[k]) + p[k] * sum(abs(t) for t in T))
    return loss, grads, S


def softmax_row_naive(xs, taus, ws, gamma):
    """The definition, written plainly (finite logits only), for the FD_DPS checks."""
    lse = mp.log(sum(mp.exp(x) for x in xs))
    loss = mpf(0)
    for x, t, w in zip(xs, taus, ws):
        lj = x - lse
        pj = mp.exp(lj)
        mg = mpf(1) if gamma == 0 else (1 - pj) ** gamma
        loss += -w * t * mg * lj
    return loss


# ---------------------------------------------------------------------------------------------
# A case


class Case:
    def __init__(self, name, task, classes, logits, targets, gamma="2", alpha="off",
                 class_alpha="off", ls="0", reduction="mean", normalizer="off",
                 ignore_index="off", comment=""):
        self.name = name
        self.task = task
        self.classes = classes
        self.logits = logits.split()
        self.targets = targets.split()
        self.gamma = gamma
        self.alpha = alpha
        self.class_alpha = class_alpha if class_alpha == "off" else class_alpha.split()
        self.ls = ls
        self.reduction = reduction
        self.normalizer = normalizer
        self.ignore_index = ignore_index
        self.comment = comment
        assert " " not in name
        assert task in ("sigmoid", "softmax", "softmax_probs")
        assert reduction in ("none", "sum", "mean")
        n = len(self.logits)
        assert n % classes == 0 and n > 0
        self.rows = n // classes
        if task == "softmax":
            assert len(self.targets) == self.rows
        else:
            assert len(self.targets) == n
        if self.class_alpha != "off":
            assert len(self.class_alpha) == classes and alpha == "off"
        if task != "softmax":
            assert ignore_index == "off"
        for tok in self.logits:
            check_f32(tok)
        if task != "softmax":
            for tok in self.targets:
                check_f32(tok)
                assert 0 <= mpf(tok) <= 1
        for tok in [gamma, ls] + ([] if alpha == "off" else [alpha]) \
                + ([] if normalizer == "off" else [normalizer]) \
                + ([] if self.class_alpha == "off" else self.class_alpha):
            check_f32(tok)

    # -- evaluation ---------------------------------------------------------------------------

    def _params(self):
        gamma = mpf(self.gamma)
        ls = mpf(self.ls)
        alpha = None if self.alpha == "off" else mpf(self.alpha)
        ca = None if self.class_alpha == "off" else [mpf(v) for v in self.class_alpha]
        return gamma, ls, alpha, ca

    def _row_ignored(self, i):
        return (self.task == "softmax" and self.ignore_index != "off"
                and int(self.targets[i]) == int(self.ignore_index))

    def _row_inputs(self, i, xs_all):
        """(taus, ws) of a softmax row."""
        C = self.classes
        gamma, ls, alpha, ca = self._params()
        if ca is not None:
            ws = ca
        elif alpha is not None:
            ws = [alpha] * C
        else:
            ws = [mpf(1)] * C
        if self.task == "softmax":
            t = int(self.targets[i])
            assert 0 <= t < C
            taus = [(1 - ls) * (1 if j == t else 0) + ls / C for j in range(C)]
        else:
            rs = [mpf(v) for v in self.targets[i * C:(i + 1) * C]]
            taus = [(1 - ls) * r + ls / C for r in rs]
        return taus, ws

    def _elements(self, xs_all):
        """Per-unit (loss, [grads], [S]) at the current precision, before reduction.

        A unit is an element (sigmoid) or a row (softmax)."""
        C = self.classes
        gamma, ls, alpha, ca = self._params()
        units = []
        if self.task == "sigmoid":
            for k, x in enumerate(xs_all):
                a = ca[k % C] if ca is not None else alpha
                lo, gr, s = sigmoid_elem(x, mpf(self.targets[k]), ls, a, gamma)
                units.append((lo, [gr], [s]))
        else:
            for i in range(self.rows):
                if self._row_ignored(i):
                    units.append((mpf(0), [mpf(0)] * C, [mpf(0)] * C))
                    continue
                taus, ws = self._row_inputs(i, xs_all)
                units.append(softmax_row(xs_all[i * C:(i + 1) * C], taus, ws, gamma))
        return units

    def divisor(self):
        if self.reduction != "mean":
            return None
        if self.normalizer != "off" and mpf(self.normalizer) > 0:
            return mpf(self.normalizer)
        if self.task == "sigmoid":
            return mpf(self.rows * self.classes)
        return mpf(sum(1 for i in range(self.rows) if not self._row_ignored(i)))

    def evaluate(self, dps):
        """(losses, grads) as written to the file, computed at `dps` digits."""
        with mp.workdps(dps):
            xs = [val(t) for t in self.logits]
            units = self._elements(xs)
            grads = [g for u in units for g in u[1]]
            losses = [u[0] for u in units]
            if self.reduction == "none":
                return losses, grads
            total = sum(losses) if not any(is_nan(v) for v in losses) else mpf("nan")
            if self.reduction == "sum":
                return [total], grads
            D = self.divisor()
            if D == 0:
                return [mpf(0)], [mpf(0)] * len(grads)
            return [total / D], [g / D for g in grads]

    # -- checks -------------------------------------------------------------------------------

    def check(self, losses, grads):
        # (2) the literals are stable against a recomputation at twice the precision
        l2, g2 = self.evaluate(DPS_CHECK)
        with mp.workdps(DPS_CHECK):
            for a, b in zip(losses + grads, l2 + g2):
                if is_nan(b) or mp.isinf(b):
                    assert (is_nan(a) and is_nan(b)) or a == b, (self.name, a, b)
                else:
                    assert abs(a - b) <= mpf(10) ** -45 * abs(b), (self.name, a, b)

        C = self.classes
        gamma, ls, alpha, ca = self._params()
        xs = [val(t) for t in self.logits]
        units_lim = self._elements(xs)

        # Units to check: sigmoid elements or softmax rows without NaN, not ignored.
        for u in range(len(units_lim)):
            if self.task == "sigmoid":
                idx = [u]
            else:
                if self._row_ignored(u):
                    assert units_lim[u][0] == 0 and all(g == 0 for g in units_lim[u][1])
                    continue
                idx = list(range(u * C, (u + 1) * C))
            ux = [xs[k] for k in idx]
            if any(is_nan(x) or (self.task != "sigmoid" and mp.isinf(x) and x > 0) for x in ux):
                lo, gr, _ = units_lim[u]
                assert is_nan(lo) and all(is_nan(g) for g in gr)
                continue
            self._check_unit(u, idx, ux, units_lim[u])

    def _unit_closed(self, u, ux):
        C = self.classes
        gamma, ls, alpha, ca = self._params()
        if self.task == "sigmoid":
            a = ca[u % C] if ca is not None else alpha
            lo, gr, s = sigmoid_elem(ux[0], mpf(self.targets[u]), ls, a, gamma)
            return lo, [gr], [s]
        taus, ws = self._row_inputs(u, None)
        return softmax_row(ux, taus, ws, gamma)

    def _unit_naive(self, u, ux):
        C = self.classes
        gamma, ls, alpha, ca = self._params()
        if self.task == "sigmoid":
            a = ca[u % C] if ca is not None else alpha
            return sigmoid_elem_naive(ux[0], mpf(self.targets[u]), ls, a, gamma)
        taus, ws = self._row_inputs(u, None)
        return softmax_row_naive(ux, taus, ws, gamma)

    def _stand_in(self, ux, big):
        """Replace infinite logits by large finite ones."""
        if not any(mp.isinf(x) for x in ux):
            return ux, False
        if self.task == "sigmoid":
            return [mpf(big) if x > 0 else mpf(-big) for x in ux], True
        lo = min(x for x in ux if not mp.isinf(x))
        return [x if not mp.isinf(x) else lo - big for x in ux], True

    def _check_unit(self, u, idx, ux, lim):
        lo_lim, gr_lim, s_lim = lim
        with mp.workdps(DPS):
            uxb, substituted = self._stand_in(ux, BIG)
            lo_b, gr_b, s_b = self._unit_closed(u, uxb)
            # (5) limits against the closed form at the finite stand-in
            if substituted:
                for gl, gb in zip(gr_lim, gr_b):
                    assert abs(gl - gb) <= mpf(10) ** -100 * max(1, abs(gl)), \
                        (self.name, u, "limit grad", gl, gb)
                if mp.isinf(lo_lim):
                    ux2, _ = self._stand_in(ux, 2 * BIG)
                    lo_2 = self._unit_closed(u, ux2)[0]
                    assert lo_b > 0 and lo_2 > mpf("1.5") * lo_b, (self.name, u, "limit loss")
                else:
                    assert abs(lo_lim - lo_b) <= mpf(10) ** -100 * max(1, abs(lo_lim)), \
                        (self.name, u, "limit loss", lo_lim, lo_b)
        with mp.workdps(FD_DPS):
            uxb = [mpf(x) for x in uxb]
            # (3) loss against the naive definition
            naive = self._unit_naive(u, uxb)
            assert abs(naive - lo_b) <= mpf(10) ** -45 * abs(naive), \
                (self.name, u, "loss", naive, lo_b)
            # (4) gradient against a central finite difference of the naive definition
            h = mpf(10) ** -FD_STEP_EXP
            for j in range(len(uxb)):
                xp = list(uxb)
                xm = list(uxb)
                xp[j] += h
                xm[j] -= h
                fd = (self._unit_naive(u, xp) - self._unit_naive(u, xm)) / (2 * h)
                tol = mpf(10) ** -35 * (abs(gr_b[j]) + s_b[j])
                assert abs(fd - gr_b[j]) <= tol, (self.name, u, j, "grad", fd, gr_b[j])
                # the contract's scale is never tiny compared with the gradient itself
                assert abs(gr_b[j]) <= s_b[j] * (1 + mpf(10) ** -40), (self.name, u, j, "S")

    # -- output -------------------------------------------------------------------------------

    def render(self):
        losses, grads = self.evaluate(DPS)
        self.check(losses, grads)
        out = []
        if self.comment:
            out.append("# " + self.comment)
        out.append("case " + self.name)
        out.append("task " + self.task)
        out.append("classes %d" % self.classes)
        out.append("gamma " + self.gamma)
        out.append("alpha " + self.alpha)
        out.append("class_alpha " + (self.class_alpha if self.class_alpha == "off"
                                     else " ".join(self.class_alpha)))
        out.append("label_smoothing " + self.ls)
        out.append("reduction " + self.reduction)
        out.append("normalizer " + self.normalizer)
        out.append("ignore_index " + self.ignore_index)
        out.append("logits " + " ".join(self.logits))
        out.append("targets " + " ".join(self.targets))
        out.append("loss " + " ".join(fmt(v) for v in losses))
        out.append("grad " + " ".join(fmt(v) for v in grads))
        out.append("end")
        return "\n".join(out)


def fmt(v):
    if is_nan(v):
        return "nan"
    if mp.isinf(v):
        return "inf" if v > 0 else "-inf"
    with mp.workdps(DPS):
        return mpmath.nstr(v, DIGITS)


# ---------------------------------------------------------------------------------------------
# The cases


CASES = [
    # ---- sigmoid, binary (classes = 1) -------------------------------------------------------
    Case("sig_bin_g0_none", "sigmoid", 1, "100 -100 0 -0", "0 1 1 0", gamma="0",
         reduction="none",
         comment="gamma 0 is plain BCE; wrong-side +-100 logits give loss 100; +-0"),
    Case("sig_bin_g2_alpha_mean", "sigmoid", 1, "100 -100 2.5 -3", "1 0 1 0", gamma="2",
         alpha="0.25", reduction="mean",
         comment="right-side saturation: tiny loss and gradient, relative accuracy matters"),
    Case("sig_bin_g05_sum", "sigmoid", 1, "100 -100 0.375 -1.5", "1 0 0 1", gamma="0.5",
         reduction="sum",
         comment="gamma 0.5 at saturation: gradient finite (torchvision gives NaN)"),
    Case("sig_bin_g5_alpha_ls_mean_norm3", "sigmoid", 1, "4 -2.5 0.125", "1 0 1", gamma="5",
         alpha="0.25", ls=LS01, reduction="mean", normalizer="3",
         comment="gamma 5, alpha, smoothing 0.1, mean over a normalizer"),
    Case("sig_bin_soft_g2_alpha_none", "sigmoid", 1, "1.5 -0.625 100 -100", "0.25 0.75 0.25 0.75",
         gamma="2", alpha="0.25", reduction="none",
         comment="soft targets, including at +-100"),
    Case("sig_bin_inf_g2_alpha_none", "sigmoid", 1, "inf -inf inf -inf", "1 0 0 1", gamma="2",
         alpha="0.25", reduction="none",
         comment="infinite logits, hard targets: losses 0 or inf, finite gradient limits"),
    Case("sig_bin_inf_g0_sum", "sigmoid", 1, "inf -inf inf -inf", "1 0 0 1", gamma="0",
         reduction="sum", comment="infinite logits with gamma 0, summed: inf"),
    Case("sig_bin_inf_g05_mean", "sigmoid", 1, "inf -inf 0.5", "1 0 1", gamma="0.5",
         alpha="0.25", reduction="mean",
         comment="right-side infinite logits: loss 0, gradient 0, mean stays finite"),
    Case("sig_bin_g0_ls_mean", "sigmoid", 1, "100 -100 0 1.25", "1 0 1 0", gamma="0",
         ls=LS01, reduction="mean", comment="smoothing puts mass on the wrong side of +-100"),
    Case("sig_bin_classalpha_g2_sum", "sigmoid", 1, "-2 0.75 3.5", "1 1 0", gamma="2",
         class_alpha="0.375", reduction="sum",
         comment="binary with a one-entry per-class alpha"),
    Case("sig_bin_soft_g05_ls_none", "sigmoid", 1, "-0 0 6 -6", "0.5 0.25 1 0", gamma="0.5",
         ls=LS01, reduction="none",
         comment="y = 0.5 (m constant), soft targets and smoothing with gamma 0.5"),

    # ---- sigmoid, multi-label (classes = 3) --------------------------------------------------
    Case("ml_g2_classalpha_none", "sigmoid", 3, "1.5 -2 0.25  100 -100 -0.5", "1 0 0  0 1 1",
         gamma="2", class_alpha="0.25 0.5 1", reduction="none",
         comment="per-column alpha, including alpha 1 (negatives weigh 0)"),
    Case("ml_g05_alpha_ls_soft_sum", "sigmoid", 3, "0.75 -1.25 3  -4 2 -0.125",
         "0.25 0.75 1  0 0.5 0.25", gamma="0.5", alpha="0.25", ls=LS01, reduction="sum",
         comment="soft targets with smoothing and gamma 0.5"),
    Case("ml_g5_mean", "sigmoid", 3, "0.5 -0.5 2  -3 8 -8  100 -100 0", "1 0 1  1 0 0  0 0 1",
         gamma="5", reduction="mean", comment="gamma 5, three rows, mean over rows*classes"),
    Case("ml_g0_classalpha0_inf_mean_norm3", "sigmoid", 3, "-inf inf 1  -inf -2 inf",
         "1 0 1  0 1 1", gamma="0", class_alpha="0 0.75 0.125", reduction="mean",
         normalizer="3",
         comment="alpha 0 column times an infinite loss is 0 (0*inf = 0); normalizer 3"),
    Case("ml_inf_g2_alpha_sum", "sigmoid", 3, "inf -inf inf  -inf 0.5 -inf", "1 1 0  0 1 1",
         gamma="2", alpha="0.25", reduction="sum",
         comment="infinite logits with hard targets: some losses inf, gradients finite"),
    Case("ml_inf_ls_g2_none", "sigmoid", 3, "inf -inf 2  -inf inf -1", "1 0 1  0 1 0",
         gamma="2", alpha="0.25", ls=LS01, reduction="none",
         comment="infinite logits with smoothing: loss inf everywhere on them, gradients finite"),
    Case("ml_pm0_soft_g05_classalpha_none", "sigmoid", 3, "0 -0 0  -0 0 -0",
         "0.25 0.75 1  0 0.5 0.375", gamma="0.5", class_alpha="0.25 0.5 0.875",
         reduction="none", comment="zero logits (both signs) with soft targets"),
    Case("ml_g2_ls_soft_mean", "sigmoid", 3, "2.5 -1.5 0.0625  -7 7 1", "0.75 0.25 0.5  1 0 0.125",
         gamma="2", ls=LS01, reduction="mean", comment="soft targets, smoothing, gamma 2, mean"),
    Case("ml_g5_alpha_pm100_sum", "sigmoid", 3, "100 -100 100  -100 100 -100", "1 1 0  0 0 1",
         gamma="5", alpha="0.25", reduction="sum", comment="gamma 5 at +-100 on both sides"),

    # ---- softmax with class indices ------------------------------------------------------------
    Case("sm_g0_gap1000_none", "softmax", 3, "1000 0 -3  1000 0 -3  0.5 -0.25 2", "0 1 2",
         gamma="0", reduction="none", ignore_index="-100",
         comment="cross-entropy; a gap of 1000 from both sides"),
    Case("sm_g2_alpha_ignore_mean", "softmax", 3, "1000 0 -3  1.5 -2 0.25  2 2 2  -1 0.5 3",
         "0 -100 1 2", gamma="2", alpha="0.25", reduction="mean", ignore_index="-100",
         comment="scalar alpha is a pure scale; one ignored row; mean over 3 rows"),
    Case("sm_g05_classalpha_sum", "softmax", 4, "0.5 -1 2 0.25  100 -100 0 3  -0 0 1 -1",
         "2 1 0", gamma="0.5", class_alpha="0.25 0.5 0.75 1", reduction="sum",
         ignore_index="-100", comment="per-class weights, gamma 0.5, a +-100 row"),
    Case("sm_g5_ls_ignore_mean", "softmax", 3, "1000 0 -3  3 -1 0.5  -2 4 1", "0 1 -100",
         gamma="5", ls=LS01, reduction="mean", ignore_index="-100",
         comment="gamma 5 with smoothing: the gap row's smoothed mass dominates"),
    Case("sm_masked_nomass_g2_none", "softmax", 4, "1 -inf 0.5 -2  -inf 2 0 -inf", "0 2",
         gamma="2", reduction="none", ignore_index="-100",
         comment="-inf masks a class with no target mass: gradient 0 there"),
    Case("sm_masked_target_g2_none", "softmax", 3, "-inf 1 2  0.5 -inf 0", "0 2", gamma="2",
         class_alpha="0.5 1 2", reduction="none", ignore_index="-100",
         comment="target class at -inf: loss inf, gradient finite (-w_t at the target)"),
    Case("sm_masked_ls_sum", "softmax", 3, "2 -inf 0.5  1 0 -1", "0 2", gamma="0.5",
         ls=LS01, reduction="sum", ignore_index="-100",
         comment="smoothing puts mass on a masked class: loss inf, gradients finite"),
    Case("sm_masked_zero_weight_mean", "softmax", 3, "-inf 1 2  -inf 0.5 0", "0 1", gamma="2",
         class_alpha="0 1 0.5", ls=LS01, reduction="mean", ignore_index="-100",
         comment="weight 0 on a masked target class: 0*inf = 0, loss finite"),
    Case("sm_mean_norm3_ignore", "softmax", 3, "0.25 1.75 -0.5  3 3 -3  -1 0 1", "1 -100 0",
         gamma="2", alpha="0.25", reduction="mean", normalizer="3", ignore_index="-100",
         comment="normalizer 3 overrides the count of non-ignored rows (2)"),
    Case("sm_all_ignored_mean", "softmax", 3, "1 2 3  -1 0 1", "-100 -100", gamma="2",
         reduction="mean", ignore_index="-100",
         comment="every row ignored: D = 0 gives loss 0 and gradient 0"),
    Case("sm_pm100_g2_sum", "softmax", 3, "100 -100 0  100 -100 0  -0 100 -100", "1 0 2",
         gamma="2", reduction="sum", ignore_index="off",
         comment="+-100 logits: losses 100 and 200 and e^-200-size ones"),
    Case("sm_gap1000_g5_mean", "softmax", 3, "1000 0 -3  -3 1000 0", "0 1", gamma="5",
         reduction="mean", ignore_index="-100",
         comment="gamma 5 at a gap of 1000 on the target: loss about e^-6000 per row"),
    Case("sm_nan_inf_rows_none", "softmax", 3, "1 inf 0  nan 0 1  0.5 -0.5 1.5", "0 1 2",
         gamma="2", reduction="none", ignore_index="-100",
         comment="+inf or NaN in a row makes that row's outputs NaN; other rows unaffected"),
    Case("sm_c5_g0_classalpha_ls_none", "softmax", 5, "1 2 3 4 5  -2.5 0 2.5 -0 0.125",
         "4 0", gamma="0", class_alpha="1 0.5 2 0 1.5", ls=LS01, reduction="none",
         ignore_index="255", comment="C = 5, gamma 0 with weights (one 0) and smoothing"),

    # ---- softmax with probability targets -----------------------------------------------------
    Case("smp_g0_none", "softmax_probs", 3, "0.5 -1 2  1000 0 -3", "0.25 0.75 0  0.5 0.25 0.25",
         gamma="0", reduction="none", comment="soft cross-entropy, including a gap of 1000"),
    Case("smp_g2_alpha_sum", "softmax_probs", 3, "1000 0 -3  -1 0.5 3  0 0 0",
         "1 0 0  0.125 0.375 0.5  0 1 0", gamma="2", alpha="0.25", reduction="sum",
         comment="one-hot and soft rows with a scalar alpha"),
    Case("smp_g05_classalpha_mean", "softmax_probs", 4, "0.75 -0.75 2 -3  100 -100 0 1",
         "0.25 0.25 0.25 0.25  0.5 0 0.5 0", gamma="0.5", class_alpha="0.5 1 2.5 0.125",
         reduction="mean", comment="per-class weights above 1, gamma 0.5, a +-100 row"),
    Case("smp_g5_ls_mean_norm3", "softmax_probs", 3, "2 -1 0.5  1000 0 -3  -0 0 1",
         "0.75 0.25 0  0 1 0  0.375 0.375 0.25", gamma="5", ls=LS01, reduction="mean",
         normalizer="3", comment="gamma 5, smoothing, normalizer"),
    Case("smp_masked_nomass_g2_none", "softmax_probs", 3, "1 -inf 0  -inf 3 2",
         "0.75 0 0.25  0 0.5 0.5", gamma="2", reduction="none",
         comment="masked classes without target mass"),
    Case("smp_masked_mass_ls_sum", "softmax_probs", 3, "1 -inf 0  0.5 2 -inf",
         "0.75 0 0.25  0.25 0.75 0", gamma="2", alpha="0.25", ls=LS01, reduction="sum",
         comment="smoothing puts mass on masked classes: inf loss, finite gradient"),
    Case("smp_unnormalized_mean", "softmax_probs", 3, "0.5 1.5 -1  2 0 -2  1 2 3",
         "0.25 0.25 0  0.5 0.5 0.5  0 0 0", gamma="2", reduction="mean",
         comment="rows not renormalised: sums 0.5, 1.5 and 0 (loss 0, gradient 0)"),
    Case("smp_pm0_pm100_g2_none", "softmax_probs", 3, "0 -0 0  100 -100 -0",
         "0.25 0.5 0.25  0.25 0.75 0", gamma="2", class_alpha="1 0.25 0.5",
         reduction="none", comment="uniform zero logits and a +-100 row"),
]


def main():
    out = sys.stdout
    out.write("# focal-loss golden values: generated by golden/golden.py (mpmath, dps %d).\n" % DPS)
    out.write("# Do not edit: regenerate with `python3 golden/golden.py > golden/cases.txt`.\n")
    out.write("# Inputs are exact float32 values; outputs are the exact function values at them,\n")
    out.write("# rounded to %d significant digits. See golden/README.md for the format.\n"
              % DIGITS)
    names = set()
    for c in CASES:
        assert c.name not in names, c.name
        names.add(c.name)
        out.write("\n")
        out.write(c.render())
        out.write("\n")
    sys.stderr.write("golden.py: %d cases written, all checks passed\n" % len(CASES))


if __name__ == "__main__":
    mp.dps = DPS
    main()
