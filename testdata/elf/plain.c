/* A vendored C library: links libm, exports a few functions, knows nothing of Python. */
#include <math.h>
double plain_norm(const double *values, int count) {
    double sum = 0.0;
    for (int i = 0; i < count; i++) sum += values[i] * values[i];
    return sqrt(sum);
}
const char *plain_version(void) { return "plain 1.0"; }
