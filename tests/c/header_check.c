/*
 * include/focal_loss.h on its own, compiled by `cargo xtask capi` as C99 and as C++17 (both with
 * -Wall -Wextra -pedantic -Werror) and linked against the shared library: the C++ build links
 * only if the declarations are extern "C".
 */
#include "focal_loss.h"

#include <stdio.h>

int main(void) {
    FlOptions o = fl_options_default();
    const char *message = fl_status_message(FL_ERR_SHAPE);
    o.reduction = FL_REDUCTION_SUM;
    o.class_alpha = NULL;
    if (fl_abi_version() != FL_ABI_VERSION || o.struct_size != sizeof(FlOptions) || message == NULL ||
        fl_backend() == NULL) {
        printf("header_check: FAILED\n");
        return 1;
    }
    printf("header_check: ABI version %u, sizeof(FlOptions) %u, backend %s\n", (unsigned)fl_abi_version(),
           (unsigned)sizeof(FlOptions), fl_backend());
    return 0;
}
