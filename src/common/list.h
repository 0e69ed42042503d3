/* Private: the intrusive doubly-linked list every part of corio uses. A
 * node is embedded in the struct it links (cio__container_of gets the struct
 * back), so linking never allocates. A zeroed list is empty, as the structs
 * that hold one are calloc'ed, and a zeroed node is unlinked. */
#ifndef CIO_COMMON_LIST_H
#define CIO_COMMON_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* The struct of type `type` whose member `member` is at ptr. */
#define cio__container_of(ptr, type, member)                                   \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* A node, embedded in what it links. */
struct cio__link {
    struct cio__link *prev; /* NULL for the first */
    struct cio__link *next; /* NULL for the last */
};

/* A list of nodes, oldest first when filled with cio__list_push_back. */
struct cio__list {
    struct cio__link *head; /* first node, NULL when empty */
    struct cio__link *tail; /* last node */
};

static inline bool cio__list_empty(const struct cio__list *l)
{
    return l->head == NULL;
}

/* Appends n to l. */
static inline void cio__list_push_back(struct cio__list *l, struct cio__link *n)
{
    n->next = NULL;
    n->prev = l->tail;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
}

/* Prepends n to l. */
static inline void cio__list_push_front(struct cio__list *l,
                                        struct cio__link *n)
{
    n->prev = NULL;
    n->next = l->head;
    if (l->head)
        l->head->prev = n;
    else
        l->tail = n;
    l->head = n;
}

/* Unlinks n, which is in l. */
static inline void cio__list_remove(struct cio__list *l, struct cio__link *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
}

/* Every node of l, first to last; the loop body must not unlink n. */
#define cio__list_each(n, l) for ((n) = (l)->head; (n); (n) = (n)->next)

#endif
