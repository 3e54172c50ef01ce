/** Progress words shared by bench/pipeline.ts and bench/workers/ceiling.ts (the protocol ceiling). */
export const C_ACCEPTED = 0;
export const C_RELEASED = 1;
export const C_STOP = 2;
export const C_WORDS = 4;
