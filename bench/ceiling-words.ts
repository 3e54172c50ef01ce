/** Progress words shared by bench/pipeline.ts and bench/workers/ceiling.ts (the protocol ceiling). */
/** extents the device accepted (the successful parts of each Add DC Response) */
export const C_ACCEPTED = 0;
/** host-tracked extents released (a Release DC sent for each, whatever the device answered) */
export const C_RELEASED = 1;
export const C_STOP = 2;
/** chains answered (their Add DC Response sent, every part or up to the refused one) */
export const C_ANSWERED = 3;
/** chains whose whole group was released */
export const C_FREED = 4;
/** the host stopped on an unexpected mailbox error (the FM stops too instead of waiting out its stall bound) */
export const C_HOST_FAILED = 5;
export const C_WORDS = 8;
