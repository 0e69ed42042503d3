/* Posts from any thread: a mutex-guarded FIFO plus an eventfd that wakes
 * the loop. A poster writes the eventfd only when it makes the queue
 * non-empty; the loop drains the eventfd before taking the whole queue,
 * so a post can cause a spurious wake-up but is never left unseen. The
 * post_pending count is raised before queueing, so a post in flight keeps
 * a running loop alive. */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loop/loop-int.h"

static void wake(cio_loop_t *loop)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: the loop will wake. */
    while (write(loop->post_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

int cio_loop_post(cio_loop_t *loop, cio_post_cb fn, void *data)
{
    cio__post_t *post = malloc(sizeof(*post));
    if (post == NULL)
        return -ENOMEM;
    post->next = NULL;
    post->fn = fn;
    post->data = data;
    atomic_fetch_add_explicit(&loop->post_pending, 1, memory_order_release);
    pthread_mutex_lock(&loop->post_lock);
    int was_empty = loop->post_head == NULL;
    if (was_empty)
        loop->post_head = post;
    else
        loop->post_tail->next = post;
    loop->post_tail = post;
    /* Woken under the lock: once the loop has taken this post, the poster
     * no longer touches the loop, which may then be freed safely. */
    if (was_empty)
        wake(loop);
    pthread_mutex_unlock(&loop->post_lock);
    return 0;
}

/* The eventfd's callback: runs every post queued so far, in order. */
static void posts_run(cio_loop_t *loop, int fd, int events, void *data)
{
    uint64_t count;
    while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&loop->post_lock);
    cio__post_t *post = loop->post_head;
    loop->post_head = loop->post_tail = NULL;
    pthread_mutex_unlock(&loop->post_lock);
    while (post != NULL) {
        cio__post_t *next = post->next;
        post->fn(loop, post->data);
        free(post);
        atomic_fetch_sub_explicit(&loop->post_pending, 1, memory_order_release);
        post = next;
    }
}

int cio__posts_init(cio_loop_t *loop)
{
    int rc = pthread_mutex_init(&loop->post_lock, NULL);
    if (rc != 0)
        return -rc;
    atomic_init(&loop->post_pending, 0);
    loop->post_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->post_fd < 0) {
        rc = -errno;
        pthread_mutex_destroy(&loop->post_lock);
        return rc;
    }
    rc = cio__loop_register_internal(loop, loop->post_fd, posts_run, NULL);
    if (rc < 0) {
        close(loop->post_fd);
        loop->post_fd = -1;
        pthread_mutex_destroy(&loop->post_lock);
    }
    return rc;
}

void cio__posts_free(cio_loop_t *loop)
{
    if (loop->post_fd < 0)
        return;
    cio_loop_unregister(loop, loop->post_fd);
    close(loop->post_fd);
    loop->post_fd = -1;
    cio__post_t *post = loop->post_head;
    while (post != NULL) { /* discarded, as documented */
        cio__post_t *next = post->next;
        free(post);
        post = next;
    }
    loop->post_head = loop->post_tail = NULL;
    pthread_mutex_destroy(&loop->post_lock);
}
