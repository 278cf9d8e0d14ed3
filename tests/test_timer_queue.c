/*
 * The pure timer queue (src/timer_queue.c), checked against a brute-force
 * model after every step of a long random sequence of inserts and removes.
 */
#include "harness.h"
#include "timer_queue.h"

#include <stdlib.h>

enum { NODES = 300 };

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The model: a linear scan over every queued node. */
static stq_node *model_first(stq_node *nodes, bool *queued)
{
    stq_node *best = NULL;
    for (int i = 0; i < NODES; i++) {
        if (!queued[i])
            continue;
        stq_node *n = &nodes[i];
        if (!best || n->due < best->due || (n->due == best->due && n->seq < best->seq))
            best = n;
    }
    return best;
}

static uint64_t model_first_deadline(stq_node *nodes, bool *queued)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < NODES; i++)
        if (queued[i] && nodes[i].deadline < best)
            best = nodes[i].deadline;
    return best;
}

TEST(queue_empty_has_no_first_and_no_deadline)
{
    stq q;
    stq_init(&q);
    CHECK(stq_first(&q) == NULL);
    CHECK(stq_first_by_deadline(&q) == NULL);
    CHECK(stq_check(&q));
    stq_free(&q);
}

TEST(queue_ties_on_due_are_broken_by_seq)
{
    stq q;
    stq_node n[3] = {{.due = 5, .deadline = 5, .seq = 3},
                     {.due = 5, .deadline = 5, .seq = 1},
                     {.due = 5, .deadline = 5, .seq = 2}};
    stq_init(&q);
    CHECK(stq_reserve(&q, 3));
    for (int i = 0; i < 3; i++)
        stq_insert(&q, &n[i]);
    CHECK(stq_first(&q) == &n[1]);
    stq_remove(&q, &n[1]);
    CHECK(stq_first(&q) == &n[2]);
    stq_remove(&q, &n[2]);
    CHECK(stq_first(&q) == &n[0]);
    stq_free(&q);
}

TEST(queue_first_deadline_is_independent_of_due_order)
{
    stq q;
    stq_node early_wide = {.due = 10, .deadline = 1000, .seq = 1};
    stq_node late_narrow = {.due = 50, .deadline = 60, .seq = 2};
    stq_init(&q);
    CHECK(stq_reserve(&q, 2));
    stq_insert(&q, &early_wide);
    stq_insert(&q, &late_narrow);
    CHECK(stq_first(&q) == &early_wide);
    CHECK(stq_first_by_deadline(&q) == &late_narrow);
    stq_free(&q);
}

TEST(queue_matches_brute_force_model_over_random_operations)
{
    static stq_node nodes[NODES];
    static bool queued[NODES];
    stq q;
    stq_init(&q);
    CHECK(stq_reserve(&q, NODES));
    uint64_t seq = 0;
    for (int step = 0; step < 200000; step++) {
        int i = (int)(rng() % NODES);
        if (queued[i] && rng() % 2) {
            stq_remove(&q, &nodes[i]);
            queued[i] = false;
            CHECK(!stq_queued(&nodes[i]));
        } else {
            if (queued[i])
                stq_remove(&q, &nodes[i]);
            /* Small key ranges force many ties. */
            nodes[i].due = rng() % 64;
            nodes[i].deadline = nodes[i].due + rng() % 64;
            nodes[i].seq = ++seq;
            stq_insert(&q, &nodes[i]);
            queued[i] = true;
        }
        CHECK(stq_first(&q) == model_first(nodes, queued));
        stq_node *closing = stq_first_by_deadline(&q);
        CHECK_EQ(closing ? closing->deadline : UINT64_MAX, model_first_deadline(nodes, queued));
        if (step % 997 == 0)
            CHECK(stq_check(&q));
    }
    CHECK(stq_check(&q));
    stq_free(&q);
}

TEST(queue_drains_in_due_then_seq_order)
{
    static stq_node nodes[NODES];
    stq q;
    stq_init(&q);
    CHECK(stq_reserve(&q, NODES));
    for (int i = 0; i < NODES; i++) {
        nodes[i].due = rng() % 100;
        nodes[i].deadline = nodes[i].due;
        nodes[i].seq = (uint64_t)i + 1;
        stq_insert(&q, &nodes[i]);
    }
    uint64_t last_due = 0, last_seq = 0;
    for (int i = 0; i < NODES; i++) {
        stq_node *n = stq_first(&q);
        CHECK(n != NULL);
        CHECK(n->due > last_due || (n->due == last_due && n->seq > last_seq));
        last_due = n->due;
        last_seq = n->seq;
        stq_remove(&q, n);
    }
    CHECK(stq_first(&q) == NULL);
    stq_free(&q);
}

TEST(queue_reserve_grows_and_keeps_contents)
{
    static stq_node nodes[NODES];
    stq q;
    stq_init(&q);
    for (int i = 0; i < NODES; i++) {
        CHECK(stq_reserve(&q, (uint32_t)i + 1));
        nodes[i].due = nodes[i].deadline = (uint64_t)(NODES - i);
        nodes[i].seq = (uint64_t)i;
        stq_insert(&q, &nodes[i]);
        CHECK(stq_first(&q) == &nodes[i]);
    }
    CHECK(stq_check(&q));
    stq_free(&q);
}
