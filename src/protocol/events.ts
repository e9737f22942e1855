/**
 * Announce events, shared by the HTTP and UDP parsers and the rules (src/rules/), which turn
 * them into what the store does (leave the swarm, count a download). The numbers are ours (not BEP 15's wire values): the UDP parser maps
 * BEP 15's 0 none / 1 completed / 2 started / 3 stopped onto these.
 */
export const EVENT_NONE = 0;
export const EVENT_STARTED = 1;
export const EVENT_COMPLETED = 2;
export const EVENT_STOPPED = 3;
/** BEP 21 `paused`: a partial seed; treated like a regular announce. */
export const EVENT_PAUSED = 4;

export type AnnounceEvent = 0 | 1 | 2 | 3 | 4;
