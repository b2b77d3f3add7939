/*
 * focal_loss.h: the C ABI of focal-loss, version 1.
 *
 * Focal Loss (Lin et al., ICCV 2017) and its gradient with respect to the logits, exact and
 * allocation-free, in one fused pass over buffers the caller owns, for the binary,
 * multi-label and multi-class tasks (class indices or target probabilities), with gamma,
 * alpha (scalar or per class), label smoothing and the reductions none / sum / mean.
 *
 * Build the libraries with `cargo xtask capi`: target/capi/libfocal_loss.so (link with
 * -lfocal_loss) and target/capi/libfocal_loss.a (on Linux, link it followed by
 * -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc). C99 and C++ (the declarations are extern "C").
 *
 * Conventions shared by the three entry points:
 *
 *   - logits (and targets, for the sigmoid task and target probabilities) are rows x classes,
 *     row-major. With n = rows * classes:
 *   - loss may be NULL (not wanted). Otherwise it receives the per-element (sigmoid: n values)
 *     or per-row (softmax: rows values) losses with FL_REDUCTION_NONE, else the one reduced
 *     value.
 *   - grad may be NULL (forward only), or exactly logits (the gradient overwrites the logits,
 *     in place); otherwise it receives n values: the gradient of the reduced loss (with
 *     FL_REDUCTION_NONE, of the sum of the losses).
 *   - Both NULL: the call only validates.
 *   - With n = 0 the data pointers may be NULL (a non-NULL loss still receives the 0 of sum or
 *     mean).
 *   - Every call returns FL_OK or a negative FL_ERR_* status. Everything is validated before
 *     anything is written: on any error, nothing is written. The checks run in this order
 *     and the first refusal is returned: opts NULL, struct_size; the reduction, gamma, alpha,
 *     label smoothing, normalizer; the shape; NULL or misaligned pointers; overlapping
 *     buffers; class_alpha values; targets.
 *   - NaN logits are not refused: they propagate to that element's or row's outputs.
 *   - No argument makes a function panic or abort (within the pointer rules below). The
 *     functions keep no state and may be called from several threads at once.
 *
 * Pointer rules (the caller's side; what can be checked is checked): every buffer points to
 * as many values of its type as stated, suitably aligned, valid for the duration of the call
 * and not written by another thread meanwhile; opts points to opts->struct_size readable
 * bytes.
 */
#ifndef FOCAL_LOSS_H
#define FOCAL_LOSS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this ABI; fl_abi_version() returns the one the library implements. */
#define FL_ABI_VERSION 1

/* FlOptions.reduction */
#define FL_REDUCTION_NONE 0 /* one loss per element (sigmoid) or per row (softmax) */
#define FL_REDUCTION_SUM 1  /* one value: the sum of the losses */
#define FL_REDUCTION_MEAN 2 /* one value: the sum / D (D: rows*classes for sigmoid, the rows
                               not ignored for softmax, or the normalizer when > 0) */

/* Statuses: FL_OK, or a negative value naming the first refusal. */
#define FL_OK 0
#define FL_ERR_NULL_POINTER (-1)    /* a data pointer is NULL while rows*classes > 0 (or any
                                       buffer used is misaligned for its type), or opts is NULL */
#define FL_ERR_SHAPE (-2)           /* rows*classes overflows (or a buffer's size in bytes
                                       exceeds PTRDIFF_MAX), or classes == 0 with rows > 0 */
#define FL_ERR_GAMMA (-3)           /* gamma negative or not finite */
#define FL_ERR_ALPHA (-4)           /* alpha or a class_alpha value out of range */
#define FL_ERR_LABEL_SMOOTHING (-5) /* label_smoothing outside [0, 1) */
#define FL_ERR_NORMALIZER (-6)      /* normalizer NaN, negative or infinite */
#define FL_ERR_REDUCTION (-7)       /* reduction not one of FL_REDUCTION_* */
#define FL_ERR_TARGET (-8)          /* a target, probability or class index out of range */
#define FL_ERR_STRUCT_SIZE (-9)     /* struct_size < sizeof(FlOptions), or larger with a
                                       nonzero byte past the fields of this version */
#define FL_ERR_ALIASING (-10)       /* grad overlaps logits (other than ==), targets, loss or
                                       class_alpha; or loss overlaps logits, targets or
                                       class_alpha */

/*
 * The options of a call. Start from fl_options_default() and change what you need: it sets
 * struct_size, which tells the library which version of this struct the caller was compiled
 * against. A struct_size smaller than sizeof(FlOptions) is refused; a larger one (a newer
 * caller) is accepted when all its extra bytes are zero (no newer option used).
 */
typedef struct FlOptions {
    uint32_t struct_size;     /* sizeof(FlOptions) as the caller knows it; set by fl_options_default */
    int32_t reduction;        /* FL_REDUCTION_*; default FL_REDUCTION_MEAN */
    float gamma;              /* focusing parameter, finite and >= 0; default 2 (0: cross-entropy) */
    float alpha;              /* in [0, 1], or NaN = off (default). Sigmoid: alpha_t =
                                 alpha*y' + (1 - alpha)*(1 - y'); softmax: a pure scale */
    float label_smoothing;    /* in [0, 1); default 0 */
    float normalizer;         /* > 0: mean divides by it instead of its count; 0 = off (default) */
    int64_t ignore_index;     /* fl_softmax_focal: rows with this class index are skipped (loss 0,
                                 gradient 0, not counted by mean); default -100 */
    const float *class_alpha; /* NULL (default) or `classes` values; replaces alpha when given.
                                 Sigmoid: each in [0, 1]; softmax: class weights, finite, >= 0 */
} FlOptions;                  /* 40 bytes on 64-bit targets */

/* FL_ABI_VERSION of the library linked (compare it with the header's). */
uint32_t fl_abi_version(void);

/* The defaults: struct_size = sizeof(FlOptions), FL_REDUCTION_MEAN, gamma 2, alpha NaN (off),
   label_smoothing 0, normalizer 0 (off), ignore_index -100, class_alpha NULL. */
FlOptions fl_options_default(void);

/* Binary (classes = 1) and multi-label focal loss. logits and targets: rows x classes; each
   target a real in [0, 1] (hard 0/1 or soft). loss: n values (FL_REDUCTION_NONE) or 1. */
int32_t fl_sigmoid_focal(const float *logits, const float *targets, size_t rows, size_t classes,
                         const FlOptions *opts, float *loss, float *grad);

/* Multi-class focal loss with class indices. logits: rows x classes; targets: rows indices in
   [0, classes) or equal to opts->ignore_index. loss: rows values (FL_REDUCTION_NONE) or 1. */
int32_t fl_softmax_focal(const float *logits, const int64_t *targets, size_t rows, size_t classes,
                         const FlOptions *opts, float *loss, float *grad);

/* Multi-class focal loss with target probabilities. logits and target_probs: rows x classes;
   each probability in [0, 1] (rows are not renormalised); ignore_index does not apply.
   loss: rows values (FL_REDUCTION_NONE) or 1. */
int32_t fl_softmax_focal_probs(const float *logits, const float *target_probs, size_t rows,
                               size_t classes, const FlOptions *opts, float *loss, float *grad);

/* A static English description of any status, unknown ones too ("unknown status").
   Never NULL; do not free it. */
const char *fl_status_message(int32_t status);

/* The backend that runs on this CPU: "avx512", "avx2", "neon", "portable" or "scalar".
   Static, never NULL. */
const char *fl_backend(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FOCAL_LOSS_H */
