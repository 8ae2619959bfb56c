/*
 * Join of the results of several outputs: for each event in flight, the
 * number of results still owed and the result combined so far, keyed by
 * its acknowledgement ref. An event's result is known once every output
 * that took it gave one.
 *
 * The table is open addressing with linear probing, at most half full,
 * so its size follows the largest number of events in flight, which the
 * outputs bound, and not the backlog behind them. It allocates only when
 * it grows, never per event.
 */
#ifndef LF_AGENT_OUTPUT_JOIN_H
#define LF_AGENT_OUTPUT_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outputs/elasticsearch/es_output.h"

struct lf_output_join_entry;

struct lf_output_join {
    struct lf_output_join_entry *slots;
    size_t cap;   /* a power of two, or 0 */
    size_t count; /* events in flight */
};

/* Initializes an empty join; a zeroed struct is one too. */
void lf_output_join_init(struct lf_output_join *join);
void lf_output_join_cleanup(struct lf_output_join *join);

/*
 * Waits for `owed` more results for `ref`. A ref already in flight (a
 * spool record appended again after a failed fsync and sent again) adds
 * to its count, so the event is reported once, after every result.
 */
void lf_output_join_add(struct lf_output_join *join, struct lf_ack_ref ref,
                        uint32_t owed);

/*
 * Takes back `owed` results added for `ref` that will never come, because
 * no output took the event.
 */
void lf_output_join_release(struct lf_output_join *join, struct lf_ack_ref ref,
                            uint32_t owed);

/*
 * Records one result for `ref`. Returns true when it was the last one
 * owed, with the combined result in `*combined`: rejected when any
 * output rejected the event, else indexed when any indexed it, else
 * duplicate. Returns false for a ref not in flight.
 */
bool lf_output_join_settle(struct lf_output_join *join, struct lf_ack_ref ref,
                           enum lf_delivery result, enum lf_delivery *combined);

/* Returns the number of events in flight. */
size_t lf_output_join_count(const struct lf_output_join *join);

#endif
