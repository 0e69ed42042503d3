/* 100,000 coroutines suspended at once, then resumed in scattered order. */
#include "coro_scale.h"

int main(void)
{
    scale_run(100000, 1);
    /* A second round reuses the pooled stacks. */
    scale_run(100000, 0);
    printf("coro_many: ok\n");
    return 0;
}
