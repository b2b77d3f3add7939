#!/usr/bin/env python3
"""Focal loss from Python through the C ABI, with nothing but ctypes (and numpy, if installed).

    cargo xtask capi                                # builds target/capi/libfocal_loss.so
    python3 examples/python/ctypes_example.py       # FOCAL_LOSS_LIB=/path/to/libfocal_loss.so to choose

It computes, through libfocal_loss.so, the binary focal loss of a batch of 4096 logits (per
element and mean, with the gradient) and the multi-class focal loss of 512 rows x 10 classes
(class weights, ignored rows, mean, with the gradient), and checks every value against a plain
float64 formula (vectorised numpy when numpy is installed, Python's math module otherwise)
within the library's accuracy contract, |computed - exact| <= 2^-23 (16 + 4 kappa) |exact|.
It exits with status 1 if any value is outside it.

PyTorch: pass contiguous float32 CPU tensors the same way, e.g.
ctypes.cast(t.data_ptr(), ctypes.POINTER(ctypes.c_float)) (see the README).
"""

import ctypes
import math
import os
import random
import sys

try:
    import numpy as np
except ImportError:  # numpy is optional
    np = None

FL_REDUCTION_NONE, FL_REDUCTION_SUM, FL_REDUCTION_MEAN = 0, 1, 2
FL_OK = 0

F32P = ctypes.POINTER(ctypes.c_float)
I64P = ctypes.POINTER(ctypes.c_int64)


class FlOptions(ctypes.Structure):
    """FlOptions of include/focal_loss.h, field for field."""

    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("reduction", ctypes.c_int32),
        ("gamma", ctypes.c_float),
        ("alpha", ctypes.c_float),  # NaN = off
        ("label_smoothing", ctypes.c_float),
        ("normalizer", ctypes.c_float),  # 0 = off
        ("ignore_index", ctypes.c_int64),
        ("class_alpha", F32P),  # None (NULL) or `classes` floats
    ]


def load_library(path=None):
    """Loads libfocal_loss.so and declares the signatures of its functions."""
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "target", "capi", "libfocal_loss.so")
    path = path or os.environ.get("FOCAL_LOSS_LIB") or default
    if not os.path.exists(path):
        sys.exit(f"{path} not found: build it with `cargo xtask capi` (or set FOCAL_LOSS_LIB)")
    lib = ctypes.CDLL(path)
    lib.fl_abi_version.argtypes = []
    lib.fl_abi_version.restype = ctypes.c_uint32
    lib.fl_options_default.argtypes = []
    lib.fl_options_default.restype = FlOptions
    task = [ctypes.c_size_t, ctypes.c_size_t, ctypes.POINTER(FlOptions), F32P, F32P]
    lib.fl_sigmoid_focal.argtypes = [F32P, F32P] + task
    lib.fl_softmax_focal.argtypes = [F32P, I64P] + task
    lib.fl_softmax_focal_probs.argtypes = [F32P, F32P] + task
    for f in (lib.fl_sigmoid_focal, lib.fl_softmax_focal, lib.fl_softmax_focal_probs):
        f.restype = ctypes.c_int32
    lib.fl_status_message.argtypes = [ctypes.c_int32]
    lib.fl_status_message.restype = ctypes.c_char_p
    lib.fl_backend.argtypes = []
    lib.fl_backend.restype = ctypes.c_char_p
    if lib.fl_abi_version() != 1:
        sys.exit(f"{path}: ABI version {lib.fl_abi_version()}, this example speaks version 1")
    return lib


def check(lib, status):
    if status != FL_OK:
        raise RuntimeError(f"focal_loss: {lib.fl_status_message(status).decode()} (status {status})")


# Buffers: numpy arrays when numpy is there, ctypes arrays otherwise.


def floats(values):
    return np.asarray(values, dtype=np.float32) if np else (ctypes.c_float * len(values))(*values)


def int64s(values):
    return np.asarray(values, dtype=np.int64) if np else (ctypes.c_int64 * len(values))(*values)


def zeros(n):
    return np.zeros(n, dtype=np.float32) if np else (ctypes.c_float * n)()


def ptr(buf, ctype=ctypes.c_float):
    if buf is None:
        return None
    return buf.ctypes.data_as(ctypes.POINTER(ctype)) if np else buf


def as_list(buf):
    """The values as Python floats (float64), exactly as float32 holds them."""
    return buf.tolist() if np else list(buf)


# The float64 reference formulas (DESIGN 2.1 and 2.2, hard targets, no label smoothing).


def sigmoid_reference(x, y, gamma, alpha):
    """Per-element loss, gradient and kappa = gamma |x| of the binary focal loss."""
    if np:
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        e = np.exp(-np.abs(x))
        p = np.where(x >= 0, 1 / (1 + e), e / (1 + e))  # sigma(x)
        q = np.where(x >= 0, e / (1 + e), 1 / (1 + e))  # sigma(-x), not 1 - p
        softplus_x = np.maximum(x, 0) + np.log1p(e)
        softplus_neg = np.maximum(-x, 0) + np.log1p(e)
        ce = y * softplus_neg + (1 - y) * softplus_x
        m = p * (1 - y) + q * y  # 1 - p_t
        alpha_t = alpha * y + (1 - alpha) * (1 - y)
        loss = alpha_t * m**gamma * ce
        grad = alpha_t * m**gamma * (gamma * (p * q * (1 - 2 * y) / m) * ce + p - y)
        return loss.tolist(), grad.tolist(), (gamma * np.abs(x)).tolist()
    losses, grads, kappas = [], [], []
    for xi, yi in zip(x, y):
        e = math.exp(-abs(xi))
        p, q = (1 / (1 + e), e / (1 + e)) if xi >= 0 else (e / (1 + e), 1 / (1 + e))
        ce = yi * (max(-xi, 0) + math.log1p(e)) + (1 - yi) * (max(xi, 0) + math.log1p(e))
        m = p * (1 - yi) + q * yi
        alpha_t = alpha * yi + (1 - alpha) * (1 - yi)
        losses.append(alpha_t * m**gamma * ce)
        grads.append(alpha_t * m**gamma * (gamma * (p * q * (1 - 2 * yi) / m) * ce + p - yi))
        kappas.append(gamma * abs(xi))
    return losses, grads, kappas


def softmax_reference(x, targets, classes, weights, gamma, ignore_index):
    """Per-row loss, gradient (rows x classes, flat), per-row kappa and the count of rows kept."""
    rows = len(targets)
    kappa_extra = 4 * math.log2(classes)
    if np:
        x = np.asarray(x, dtype=np.float64).reshape(rows, classes)
        t = np.asarray(targets)
        w = np.asarray(weights, dtype=np.float64)
        shifted = x - x.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        logp = shifted - np.log(s)
        p = e / s
        rest = (s - e) / s  # 1 - p_j as the sum of the other probabilities
        g = rest**gamma * (gamma * p * logp / rest - 1)
        kept = t != ignore_index
        r, tt = np.arange(rows), np.where(kept, t, 0)
        wt, gt, rest_t = w[tt], g[r, tt], rest[r, tt]
        loss = np.where(kept, -wt * rest_t**gamma * logp[r, tt], 0.0)
        grad = -p * (wt * gt)[:, None]
        grad[r, tt] = wt * gt * rest_t
        grad[~kept] = 0.0
        kappa = (gamma + 1) * (x.max(axis=1) - x.min(axis=1)) + kappa_extra
        return loss.tolist(), grad.ravel().tolist(), kappa.tolist(), int(kept.sum())
    losses, grads, kappas, kept = [], [], [], 0
    for i in range(rows):
        row = x[i * classes : (i + 1) * classes]
        kappas.append((gamma + 1) * (max(row) - min(row)) + kappa_extra)
        t = targets[i]
        if t == ignore_index:
            losses.append(0.0)
            grads.extend([0.0] * classes)
            continue
        kept += 1
        top = max(row)
        e = [math.exp(v - top) for v in row]
        s = sum(e)
        logp = [v - top - math.log(s) for v in row]
        p = [ej / s for ej in e]
        rest_t = (s - e[t]) / s
        g_t = rest_t**gamma * (gamma * p[t] * logp[t] / rest_t - 1)
        losses.append(-weights[t] * rest_t**gamma * logp[t])
        grads.extend(weights[t] * g_t * rest_t if j == t else -p[j] * weights[t] * g_t for j in range(classes))
    return losses, grads, kappas, kept


def worst_error(name, computed, exact, kappas):
    """The worst |computed - exact| in units of the accuracy budget; raises above 1."""
    worst = 0.0
    for i, (c, e, k) in enumerate(zip(computed, exact, kappas)):
        budget = 2.0**-23 * (16 + 4 * k) * max(abs(e), 2.0**-126)
        err = abs(c - e) / budget
        if not err <= 1.0:
            raise AssertionError(f"{name}[{i}] = {c!r}, float64 formula {e!r}: {err:.2f} budgets")
        worst = max(worst, err)
    print(f"  {name:<28} {len(computed):6} values, worst error {worst:.3f} of the budget")
    return worst


def main():
    lib = load_library()
    print(f"libfocal_loss ABI {lib.fl_abi_version()}, backend {lib.fl_backend().decode()}, "
          f"reference {'numpy' if np else 'math (numpy not installed)'} float64")
    rng = random.Random(2017)

    # Binary: 4096 logits ~ N(0, 3^2), targets Bernoulli(0.5), gamma 2, alpha 0.25.
    n = 4096
    logits = floats([rng.gauss(0.0, 3.0) for _ in range(n)])
    targets = floats([float(rng.random() < 0.5) for _ in range(n)])
    opts = lib.fl_options_default()
    opts.gamma, opts.alpha, opts.reduction = 2.0, 0.25, FL_REDUCTION_NONE
    loss, grad = zeros(n), zeros(n)
    check(lib, lib.fl_sigmoid_focal(ptr(logits), ptr(targets), n, 1, ctypes.byref(opts), ptr(loss), ptr(grad)))
    x, y = as_list(logits), as_list(targets)
    exact_loss, exact_grad, kappas = sigmoid_reference(x, y, 2.0, 0.25)
    print("binary focal loss, 4096 x 1:")
    worst_error("loss (reduction none)", as_list(loss), exact_loss, kappas)
    worst_error("gradient", as_list(grad), exact_grad, kappas)

    opts.reduction = FL_REDUCTION_MEAN
    mean = zeros(1)
    check(lib, lib.fl_sigmoid_focal(ptr(logits), ptr(targets), n, 1, ctypes.byref(opts), ptr(mean), ptr(grad)))
    exact_mean = math.fsum(exact_loss) / n
    worst_error("loss (reduction mean)", as_list(mean), [exact_mean], [max(kappas)])
    worst_error("gradient of the mean", as_list(grad), [g / n for g in exact_grad], kappas)

    # Multi-class: 512 rows x 10 classes, class weights linspace(0.25, 0.75), every 50th row ignored.
    rows, classes = 512, 10
    logits = floats([rng.gauss(0.0, 3.0) for _ in range(rows * classes)])
    labels = [-100 if i % 50 == 7 else rng.randrange(classes) for i in range(rows)]
    weight_list = [0.25 + 0.5 * j / (classes - 1) for j in range(classes)]
    weights = floats(weight_list)
    label_buf = int64s(labels)
    opts = lib.fl_options_default()  # gamma 2, reduction mean, ignore_index -100
    opts.class_alpha = ptr(weights)
    loss, grad = zeros(1), zeros(rows * classes)
    check(lib, lib.fl_softmax_focal(ptr(logits), ptr(label_buf, ctypes.c_int64), rows, classes,
                                    ctypes.byref(opts), ptr(loss), ptr(grad)))
    w = as_list(weights)  # the float32 weights the library saw
    exact_rows, exact_grad, kappas, kept = softmax_reference(as_list(logits), labels, classes, w, 2.0, -100)
    print(f"multi-class focal loss, {rows} x {classes} ({rows - kept} rows ignored):")
    worst_error("loss (reduction mean)", as_list(loss), [math.fsum(exact_rows) / kept], [max(kappas)])
    grad_kappas = [k for k in kappas for _ in range(classes)]
    worst_error("gradient of the mean", as_list(grad), [g / kept for g in exact_grad], grad_kappas)

    # A refused call returns a negative status and writes nothing.
    opts.gamma = -1.0
    before = as_list(grad)
    status = lib.fl_softmax_focal(ptr(logits), ptr(label_buf, ctypes.c_int64), rows, classes,
                                  ctypes.byref(opts), ptr(loss), ptr(grad))
    assert status < 0 and as_list(grad) == before
    print(f"gamma = -1: status {status}, \"{lib.fl_status_message(status).decode()}\", nothing written")
    print("ctypes example: all values within the accuracy contract")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        sys.exit(f"ctypes example: FAILED: {e}")
