/**
 * DOC: SharedArrayBuffer layout — every slot of every shared buffer is named here.
 *
 * Like piscina's `symbols.ts` (kRequestCountField …) and the kernel's register definitions, the
 * index of each Int32 word is a named constant so that a reader can find who touches a word by
 * grepping its name. Buffers:
 *  - the register file of one memdev (device <-> host, as hardware registers): `REG_*`;
 *  - the system buffer shared by every thread (lock arena, lockdep, lock statistics, thread
 *    slots, clock, shared text logs): `SYS_*`, `LOCK_*`, `THREAD_*`;
 *  - rings (`RING_*`) and record tables (`TABLE_*`) carry their own small headers.
 */

export const I32 = Int32Array.BYTES_PER_ELEMENT;

// ---------------------------------------------------------------------------------------------
// Register file of one memdev (src/shm/regfile.ts). Int32 words, then the payload bytes.
// ---------------------------------------------------------------------------------------------
/** 0 = idle / command done, 1 = command posted by the host (CXL mailbox doorbell bit). */
export const REG_DOORBELL = 0;
/** command opcode (e.g. 0x4802 Add DC Response) */
export const REG_OPCODE = 1;
/** input payload length in bytes */
export const REG_PAYLOAD_IN_LEN = 2;
/** mailbox return code written by the device (CXL r3.1 Table 8-34) */
export const REG_RC = 3;
/** output payload length in bytes */
export const REG_PAYLOAD_OUT_LEN = 4;
/** background command status (unused by DC commands, kept for completeness) */
export const REG_BG_STATUS = 5;
/** Event Status register: bit i set = log i has records (bit 4 = DCD log) */
export const REG_EVENT_STATUS = 6;
/** interrupt word: the device increments it and notifies to raise the event interrupt */
export const REG_IRQ = 7;
/** capacity of the payload area in bytes (the mailbox payload size) */
export const REG_PAYLOAD_SIZE = 8;
/** set to 1 to ask the device and event threads of this memdev to stop */
export const REG_STOP = 9;
/** commands completed, for tracing */
export const REG_CMD_SEQ = 10;
/** host-side count of interrupts consumed (diagnostics) */
export const REG_IRQ_SEEN = 11;
export const REG_WORDS = 16;
export const REG_PAYLOAD_BYTE_OFFSET = REG_WORDS * I32;

/** Event Status register bits (CXL r3.1 §8.2.8.2.1; v11-10 adds bit 4). */
export const EVENT_STATUS_INFO = 1 << 0;
export const EVENT_STATUS_WARN = 1 << 1;
export const EVENT_STATUS_FAIL = 1 << 2;
export const EVENT_STATUS_FATAL = 1 << 3;
export const EVENT_STATUS_DCD = 1 << 4;

// ---------------------------------------------------------------------------------------------
// System buffer (src/shm/system.ts): header words.
// ---------------------------------------------------------------------------------------------
export const SYS_MAGIC = 0;
export const SYS_MAGIC_VALUE = 0x0dcd0011;
/** number of thread slots handed out so far */
export const SYS_THREAD_COUNT = 1;
/** hung-wait bound in milliseconds (0 = off) */
export const SYS_HUNG_MS = 2;
/** 1 = lock-order tracking (lockdep) on */
export const SYS_LOCKDEP_ON = 3;
/** number of lock-order inversions reported */
export const SYS_LOCKDEP_REPORTS = 4;
/** number of hung waits reported */
export const SYS_HUNG_REPORTS = 5;
/** number of locks allocated in the arena */
export const SYS_LOCK_COUNT = 6;
/** clock: CLOCK_MODE_REAL or CLOCK_MODE_VIRTUAL */
export const SYS_CLOCK_MODE = 7;
export const CLOCK_MODE_REAL = 0;
export const CLOCK_MODE_VIRTUAL = 1;
/** clock generation, bumped (and notified) on every virtual advance */
export const SYS_CLOCK_GEN = 8;
/** run generation: bumped on every in-place reset (stress iterations) */
export const SYS_RUN_GEN = 9;
/** 1 = a fatal report (hung wait) ended the run */
export const SYS_FATAL = 10;
/** scheduler mode: 0 free, 1 controlled (turnstile) */
export const SYS_SCHED_MODE = 11;
/** seeded noise at instrumented points: per-mille probability of a yield */
export const SYS_NOISE_PERMILLE = 12;
/** seed of the per-thread noise generators */
export const SYS_NOISE_SEED = 13;
/** workqueue kick: bumped (and notified) when a delayed work is (re)armed or the clock advances */
export const SYS_WQ_KICK = 14;
/** the last workqueue kick value the workqueue has fully processed (wait-idle reads it) */
export const SYS_WQ_DONE = 15;
/** 1 = lock statistics on (acquisitions, contentions, wait and hold times); words 16–17 hold the clock's f64 */
export const SYS_LOCKSTAT_ON = 18;
/** 1 = a lock waiter that finds a wait-for cycle through itself reports it at once (src/shm/wait-cycle.ts) */
export const SYS_WAIT_CYCLE = 19;
/**
 * Lock statistics' hold-time sampling (lock.ts noteAcquired): a power of two P — every hold of a
 * class's first STAT_HOLD_EXACT_FIRST acquisitions in a thread is timed, then 1 in P at random
 * (1 = every hold). Timing a hold costs two clock reads (~80 ns on Node 20) per acquisition.
 */
export const SYS_LOCKSTAT_HOLD_EVERY = 20;
/** the acquisitions of each class per thread whose holds are all timed before sampling starts */
export const STAT_HOLD_EXACT_FIRST = 64;
export const SYS_HEADER_WORDS = 32;
/** Float64 slot (in units of 8 bytes from the start) holding virtual "now" in ms */
export const SYS_CLOCK_NOW_F64 = 8; // bytes 64..71 — inside the header, after the Int32 words above

// Capacities of the system buffer.
export const MAX_THREADS = 64;
export const MAX_LOCK_CLASSES = 32;
/** 8192: a HostState takes about 2,500 (the mapping devices' three kn->active locks per daxMaps
 *  slot among them, src/host/state.ts), and tests build two host states on one system buffer */
export const MAX_LOCKS = 8192;
/** locks held at once by one thread (lockdep's MAX_LOCK_DEPTH is 48; our call chains are short) */
export const MAX_HELD = 12;

// Lock arena: LOCK_WORDS Int32 per lock.
/** mutex: 0 free, 1 locked, 2 locked with waiters. rwsem: 0 free, n>0 readers, -1 writer */
export const LOCK_STATE = 0;
/** thread slot + 1 of the exclusive owner (mutex or rwsem writer), 0 if none */
export const LOCK_OWNER = 1;
/** lock class id */
export const LOCK_CLASS = 2;
/** LOCK_KIND_MUTEX or LOCK_KIND_RWSEM */
export const LOCK_KIND = 3;
export const LOCK_KIND_MUTEX = 0;
export const LOCK_KIND_RWSEM = 1;
export const LOCK_WORDS = 4;

// Per-thread slot: what the thread holds and waits for (read by the hung-wait detector).
export const THREAD_HELD_COUNT = 0;
/** lock id the thread is waiting for + 1, 0 if none */
export const THREAD_WAITING_FOR = 1;
/** 1 = waiting for write/exclusive, 2 = waiting for read */
export const THREAD_WAITING_MODE = 2;
/** Atomics-visible liveness: 1 while the thread is registered */
export const THREAD_ALIVE = 3;
/** held lock ids start here; each entry is (lockId + 1) | (mode << 24) */
export const THREAD_HELD_BASE = 4;
/**
 * 1 while the thread unwinds a hung wait it reported itself (HungWaitError thrown, its locks not yet
 * all released); cleared at its next wait or when it holds nothing. The kernel's hung task stays
 * blocked; the model's gives up, so the other half of the same deadlock may time out while this one
 * still holds: the report says so (`unwinding`) instead of showing a holder that "waits for nothing".
 */
export const THREAD_UNWINDING = THREAD_HELD_BASE + MAX_HELD;
/**
 * the thread's Linux task id (from /proc/thread-self), 0 when unknown: the bench reads its
 * scheduler accounting (/proc/self/task/TID/schedstat, status) — src/runtime/thread-stats.ts
 */
export const THREAD_OS_TID = THREAD_HELD_BASE + MAX_HELD + 1;
export const THREAD_WORDS = THREAD_HELD_BASE + MAX_HELD + 4;
/** bytes of a thread's name (UTF-8, zero padded) */
export const THREAD_NAME_BYTES = 48;

// Lockdep edge table: one record per ordered class pair (A held while taking B).
/** 0 unseen, 1 seen */
export const EDGE_SEEN = 0;
/** thread slot that first took B while holding A */
export const EDGE_THREAD = 1;
/** number of classes in the recorded chain */
export const EDGE_CHAIN_LEN = 2;
/** 1 once an inversion involving this edge has been reported */
export const EDGE_REPORTED = 3;
/** lockdep's dependency types seen for this class pair (lockdep.ts DEP_*: SR, ER, SN, EN bits) */
export const EDGE_DEP = 4;
/** the recorded chain: class | (mode << 8) per entry (mode 1 write, 2 read, 3 recursive read) */
export const EDGE_CHAIN_BASE = 5;
export const EDGE_WORDS = EDGE_CHAIN_BASE + MAX_HELD + 1;

/** lock statistics fields (Float64 per thread × class) — see lockstat.ts */
export const STAT_ACQUIRE = 0;
export const STAT_CONTENDED = 1;
export const STAT_WAIT_TOTAL_NS = 2;
export const STAT_WAIT_MAX_NS = 3;
/** the measured holds' total and maximum (every hold, or a sample: SYS_LOCKSTAT_HOLD_EVERY) */
export const STAT_HOLD_TOTAL_NS = 4;
export const STAT_HOLD_MAX_NS = 5;
/** releases (every one) and measured holds among them: hold total is estimated as total × releases / samples */
export const STAT_RELEASES = 6;
export const STAT_HOLD_SAMPLES = 7;
export const STAT_FIELDS = 8;

// Shared text logs (append-only JSON lines, src/shm/textlog.ts).
export const TEXTLOG_CURSOR = 0;
export const TEXTLOG_DROPPED = 1;
export const TEXTLOG_HEADER_BYTES = 16;

// ---------------------------------------------------------------------------------------------
// Rings (src/shm/ring.ts): Int32 header, then fixed-size records of Int32 words.
// ---------------------------------------------------------------------------------------------
/** next sequence number to be consumed */
export const RING_HEAD = 0;
/** next sequence number to be published (SPSC) / reserved (MPSC) */
export const RING_TAIL = 1;
/** consumer sleeping flag: producers notify only when set (wake on empty -> non-empty) */
export const RING_CONSUMER_WAITING = 2;
/** producers sleeping on a full ring */
export const RING_PRODUCER_WAITING = 3;
/** capacity in records (power of two) */
export const RING_CAPACITY = 4;
/** Int32 words per record */
export const RING_RECORD_WORDS = 5;
/** set to 1 when the ring is closed (producers done) */
export const RING_CLOSED = 6;
export const RING_HEADER_WORDS = 16;
/** MPSC only: per-slot publication sequence (one Int32 per slot) follows the header */

// ---------------------------------------------------------------------------------------------
// Record tables (src/shm/table.ts)
// ---------------------------------------------------------------------------------------------
/** head of the free list (slot index + 1, 0 = empty) */
export const TABLE_FREE_HEAD = 0;
/** records in use */
export const TABLE_USED = 1;
/** high-water mark of slots ever handed out */
export const TABLE_HWM = 2;
/** a short internal spinlock guarding the free list (the xarray's own xa_lock; never held across
 *  anything else, so it is not a lockdep class) */
export const TABLE_LOCK = 3;
export const TABLE_HEADER_WORDS = 4;
/** per-record bookkeeping words preceding the fields: generation (odd = live) and next-free */
export const REC_GEN = 0;
export const REC_NEXT_FREE = 1;
export const REC_META_WORDS = 2;
