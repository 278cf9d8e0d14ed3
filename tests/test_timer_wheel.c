/*
 * The pure timing wheel (src/timer_wheel.c), checked against a brute-force
 * model after every step of long random sequences of inserts, removes and
 * advances; and stw_fire_time, the coalescing choice, against a search.
 * The wheel's contract serves SPEC S5.4.1 (never early), S5.4.2 (inside the
 * window), S5.4.3 (saturation) and S8.4 (fire-time order, ties by arm order).
 */
#include "harness.h"
#include "wheel/timer_wheel.h"

#include <stdlib.h>

enum { NODES = 400 };

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Every test's nodes: id i is mem[i]. */
static stw_node mem[NODES];
static void *const chunks[1] = {mem};

static stw *new_wheel(uint64_t now)
{
    stw *w = malloc(sizeof *w);
    CHECK(w != NULL);
    stw_init(w, now, (stw_table){chunks, 32, sizeof(stw_node)});
    for (int i = 0; i < NODES; i++)
        stw_node_init(&mem[i]);
    return w;
}

/* Node `id`, set to fire at `at` with tie-break `seq`, queued. */
static stw_id queue(stw *w, stw_id id, uint64_t at, uint64_t seq)
{
    mem[id].at = at;
    mem[id].seq = seq;
    stw_insert(w, id);
    return id;
}

/* Pops every ready node, checking (at, seq) order; returns how many. */
static int drain_ready(stw *w, uint64_t *last_at, uint64_t *last_seq)
{
    int n = 0;
    for (stw_id id; (id = stw_first_ready(w)) != STW_NONE; n++) {
        const stw_node *first = &mem[id];
        CHECK(first->at <= w->now);
        CHECK(first->at > *last_at || (first->at == *last_at && first->seq > *last_seq) ||
              (*last_at == 0 && *last_seq == 0));
        *last_at = first->at;
        *last_seq = first->seq;
        stw_remove(w, id);
    }
    return n;
}

TEST(s5_4_1_wheel_empty_has_no_next_and_nothing_ready)
{
    stw *w = new_wheel(1000);
    CHECK_EQ(stw_next(w), UINT64_MAX);
    CHECK(stw_first_ready(w) == STW_NONE);
    stw_advance(w, 5000);
    CHECK_EQ(w->now, 5000);
    CHECK(stw_check(w));
    free(w);
}

TEST(s8_4_wheel_node_due_now_or_earlier_is_ready_at_once)
{
    stw *w = new_wheel(1000);
    stw_id a = queue(w, 0, 1000, 2), b = queue(w, 1, 400, 1);
    CHECK(stw_first_ready(w) == b); /* earlier time first */
    CHECK_EQ(stw_next(w), 400);
    CHECK(stw_check(w));
    stw_remove(w, b);
    stw_remove(w, a);
    CHECK(!stw_queued(&mem[a]));
    CHECK(stw_check(w));
    free(w);
}

/* SPEC S8.4: equal fire times start in arm order, whichever level each node
 * waited at and whatever order the nodes were inserted in. */
TEST(s8_4_wheel_equal_times_come_out_in_seq_order)
{
    stw *w = new_wheel(0);
    uint64_t seqs[6] = {5, 1, 4, 2, 6, 3};
    for (stw_id i = 0; i < 6; i++) {
        queue(w, i, 300000, seqs[i]);
        stw_advance(w, w->now + 40000); /* later inserts land lower */
    }
    stw_advance(w, 300000);
    uint64_t expect = 1;
    for (stw_id id; (id = stw_first_ready(w)) != STW_NONE; expect++) {
        CHECK_EQ(mem[id].seq, expect);
        stw_remove(w, id);
    }
    CHECK_EQ(expect, 7);
    free(w);
}

/* SPEC S5.4.1: nothing is ready one microsecond before its time. */
TEST(s5_4_1_wheel_never_ready_before_its_time_at_any_distance)
{
    stw *w = new_wheel(12345);
    for (unsigned bit = 0; bit < 63; bit++) {
        stw_id n = queue(w, 7, w->now + (UINT64_C(1) << bit), bit);
        stw_advance(w, mem[n].at - 1);
        CHECK(stw_first_ready(w) == STW_NONE);
        CHECK(stw_next(w) <= mem[n].at);
        stw_advance(w, mem[n].at);
        CHECK(stw_first_ready(w) == n);
        stw_remove(w, n);
        CHECK(stw_check(w));
    }
    free(w);
}

TEST(s5_4_3_wheel_handles_the_largest_time)
{
    stw *w = new_wheel(UINT64_MAX - 70);
    stw_id n = queue(w, 3, UINT64_MAX, 1);
    CHECK(stw_check(w));
    stw_advance(w, UINT64_MAX - 1);
    CHECK(stw_first_ready(w) == STW_NONE);
    stw_advance(w, UINT64_MAX);
    CHECK(stw_first_ready(w) == n);
    free(w);
}

/* Removing the last node of a slot clears its pending bit: stw_next moves on. */
TEST(s5_5_wheel_remove_of_last_node_in_a_slot_clears_it)
{
    stw *w = new_wheel(0);
    stw_id a = queue(w, 0, 10, 1), b = queue(w, 1, 5000, 2);
    CHECK_EQ(stw_next(w), 10);
    stw_remove(w, a);
    CHECK(stw_next(w) > 10 && stw_next(w) <= 5000);
    stw_remove(w, b);
    CHECK_EQ(stw_next(w), UINT64_MAX);
    CHECK(stw_check(w));
    free(w);
}

/* stw_settle moves nodes down until the first one is ready, never past
 * its limit. */
TEST(s5_4_1_wheel_settle_makes_the_first_node_ready)
{
    stw *w = new_wheel(0);
    stw_id n = queue(w, 0, 987654321, 1);
    CHECK(stw_next(w) < mem[n].at); /* a high level's slot start */
    stw_settle(w, mem[n].at - 1);
    CHECK(stw_first_ready(w) == STW_NONE);
    CHECK(w->now < mem[n].at);
    stw_settle(w, UINT64_MAX);
    CHECK(stw_first_ready(w) == n);
    CHECK_EQ(w->now, mem[n].at);
    CHECK(stw_check(w));
    free(w);
}

TEST(s5_4_2_wheel_next_within_a_budget_is_exact_for_a_small_slot)
{
    stw *w = new_wheel(0);
    uint64_t at[3] = {600000, 550001, 580000}; /* one level-3 slot */
    for (stw_id i = 0; i < 3; i++)
        queue(w, i, at[i], i);
    CHECK(stw_next(w) < 550001);
    stw_id node;
    CHECK_EQ(stw_next_within(w, 3, &node), 550001);
    CHECK_EQ(node, 1);
    CHECK_EQ(stw_next_within(w, 2, &node), stw_next(w)); /* over budget: the slot's start */
    CHECK_EQ(node, STW_NONE);
    free(w);
}

TEST(s3_4_wheel_clear_unqueues_everything)
{
    stw *w = new_wheel(0);
    for (stw_id i = 0; i < 50; i++)
        queue(w, i, (uint64_t)i * i * i * 997, i);
    stw_clear(w, 77);
    for (int i = 0; i < 50; i++)
        CHECK(!stw_queued(&mem[i]));
    CHECK_EQ(stw_next(w), UINT64_MAX);
    CHECK_EQ(w->now, 77);
    CHECK(stw_check(w));
    free(w);
}

/* Settling moved the wheel's time ahead of a clock that has not moved: a
 * node armed at the clock's time is still not ready early. */
TEST(s5_4_1_wheel_insert_behind_a_settled_wheel_is_ordered_and_not_early)
{
    stw *w = new_wheel(0);
    stw_id far = queue(w, 0, 1u << 20, 1);
    stw_settle(w, UINT64_MAX);
    CHECK(w->now > 100);
    CHECK(stw_first_ready(w) == far);
    stw_id near = queue(w, 1, 100, 2); /* the clock still reads 0 */
    CHECK_EQ(stw_next(w), 100);
    CHECK(stw_first_ready(w) == near); /* ready in the wheel's terms: the */
    CHECK(stw_check(w));                /* caller compares with its clock */
    free(w);
}

/* The whole contract against a model: random inserts, removes and advances
 * over times from 1 us to 2^40 us ahead; after each advance the ready list
 * holds exactly the nodes due by then, in (at, seq) order. */
static void random_run(uint64_t start, int steps, uint64_t max_ahead_bits)
{
    stw *w = new_wheel(start);
    stw_node *nodes = mem;
    static bool queued[NODES];
    for (int i = 0; i < NODES; i++)
        queued[i] = false;
    uint64_t seq = 0;
    for (int step = 0; step < steps; step++) {
        int i = (int)(rng() % NODES);
        uint64_t action = rng() % 10;
        if (action < 5 && !queued[i]) {
            unsigned bits = (unsigned)(rng() % max_ahead_bits);
            nodes[i].at = add_saturating(w->now, rng() & ((UINT64_C(1) << bits) - 1));
            if (rng() % 8 == 0 && w->now > 100)
                nodes[i].at = w->now - rng() % 100; /* behind the wheel */
            nodes[i].seq = ++seq;
            stw_insert(w, (stw_id)i);
            queued[i] = true;
        } else if (action < 8 && queued[i]) {
            stw_remove(w, (stw_id)i);
            queued[i] = false;
        } else if (action == 9) {
            uint64_t next = stw_next(w);
            uint64_t model_min = UINT64_MAX;
            for (int k = 0; k < NODES; k++)
                if (queued[k] && nodes[k].at < model_min)
                    model_min = nodes[k].at;
            CHECK(next <= model_min); /* a lower bound, never late */
            /* stw_earliest is exact, and moves nothing. */
            bool any = false;
            for (int k = 0; k < NODES; k++)
                any |= queued[k];
            uint64_t now_before = w->now;
            stw_id earliest = stw_earliest(w);
            CHECK(any ? earliest != STW_NONE && nodes[earliest].at == model_min
                      : earliest == STW_NONE);
            CHECK_EQ(w->now, now_before);
            uint64_t to = add_saturating(w->now, rng() & ((UINT64_C(1) << (rng() % max_ahead_bits)) - 1));
            stw_advance(w, to);
            /* Exactly the due nodes are ready, in order. */
            int due = 0;
            for (int k = 0; k < NODES; k++)
                if (queued[k] && nodes[k].at <= to)
                    due++;
            uint64_t last_at = 0, last_seq = 0;
            int popped = drain_ready(w, &last_at, &last_seq);
            CHECK_EQ(popped, due);
            for (int k = 0; k < NODES; k++)
                if (queued[k] && !stw_queued(&nodes[k]))
                    queued[k] = false;
        }
        if (step % 64 == 0)
            CHECK(stw_check(w));
    }
    CHECK(stw_check(w));
    free(w);
}

TEST(s5_4_1_wheel_matches_model_short_times)
{
    random_run(0, 60000, 12);
}

TEST(s5_4_1_wheel_matches_model_long_times)
{
    random_run(987654321, 60000, 40);
}

TEST(s5_4_3_wheel_matches_model_near_the_end_of_time)
{
    random_run(UINT64_MAX - (UINT64_C(1) << 42), 20000, 40);
}

/* The model of stw_fire_time: the time in [due, due + window] with the
 * most trailing zeros, by trying every power of two from the largest. */
static uint64_t model_fire_time(uint64_t due, uint64_t window)
{
    uint64_t end = due > UINT64_MAX - window ? UINT64_MAX : due + window;
    for (int bit = 63; bit >= 0; bit--) {
        uint64_t step = UINT64_C(1) << bit;
        uint64_t up = due % step ? (due / step + 1) * step : due;
        if (up >= due && up <= end) /* a wrapped multiple reads 0 */
            return up;
    }
    return due;
}

TEST(s5_4_2_fire_time_zero_window_is_the_due_time)
{
    for (uint64_t due = 1; due < 5000; due += 7)
        CHECK_EQ(stw_fire_time(due, 0), due);
    CHECK_EQ(stw_fire_time(0, 100), 0);
}

/* SPEC S5.4.2: inside the window, and the roundest time there. */
TEST(s5_4_2_fire_time_is_inside_the_window_and_the_roundest)
{
    for (int i = 0; i < 200000; i++) {
        uint64_t due = (rng() >> (rng() % 60)) + 1;
        uint64_t window = rng() >> (rng() % 64);
        uint64_t f = stw_fire_time(due, window);
        CHECK(f >= due);
        CHECK(f - due <= window);
        CHECK_EQ(f, model_fire_time(due, window));
    }
}

TEST(s5_4_3_fire_time_saturates_at_the_end_of_time)
{
    CHECK_EQ(stw_fire_time(UINT64_MAX - 5, UINT64_MAX), UINT64_MAX - 3); /* ...fc */
    CHECK(stw_fire_time(UINT64_MAX, 1000) == UINT64_MAX);
}

/* Overlapping windows meet on one time: ten timers armed 1 us apart with
 * 25% windows share a fire time (coalescing). */
TEST(s5_4_2_fire_time_overlapping_windows_share_a_time)
{
    uint64_t first = stw_fire_time(1000000, 250000);
    for (uint64_t k = 1; k < 10; k++)
        CHECK_EQ(stw_fire_time(1000000 + k, 250000), first);
}

