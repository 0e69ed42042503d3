/* One million coroutines suspended at once (vm.max_map_count is 65530, so
 * this only works with stacks carved from shared regions).
 * CIO_TEST_TIMEOUT=180 */
#include "coro_scale.h"

int main(void)
{
#ifdef UNDER_ASAN
    /* ASan's shadow of a million stacks doubles the memory (8+ GiB). */
    CHECK_SKIP("1M coroutines do not fit under ASan; coro_many covers 100k");
#endif
    /* No shrinking here (coro_many does it): it would add a million
     * page faults to a test that is already the slowest. */
    scale_run(1000000, 0);
    printf("coro_million: ok\n");
    return 0;
}
