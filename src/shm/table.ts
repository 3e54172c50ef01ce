/**
 * DOC: typed fixed-size record tables over a SharedArrayBuffer.
 *
 * The kernel keeps its DC objects in lists and xarrays; the model keeps them in tables that every
 * thread maps. A record is a run of Int32 words: two bookkeeping words (generation, next-free)
 * then the schema's fields (i32 = 1 word, f64 = 2 words, uuid = 4 words). Handles carry the
 * record's generation, so a handle kept past `free()` is detected as stale (a use-after-free in
 * kernel terms) instead of silently reading a reused record.
 *
 * Allocation takes a short internal spinlock (the xarray's own xa_lock); field reads and writes
 * are plain typed-array accesses — the caller holds whatever kernel lock protects the object, and
 * that lock's Atomics give the ordering.
 */
import { Errors } from '../errors.js';
import { HEX_BYTE } from '../units.js';
import {
  I32, REC_GEN, REC_META_WORDS, REC_NEXT_FREE, TABLE_FREE_HEAD, TABLE_HEADER_WORDS, TABLE_HWM,
  TABLE_LOCK, TABLE_USED,
} from './layout.js';

export type FieldType = 'i32' | 'f64' | 'uuid';
export type TableSchema = Record<string, FieldType>;

/**
 * A field resolved once (`table.field('dpaStart')`): its word offset times two, plus 1 for f64.
 * Hot walks read several fields of a record in one `peekRefs` snapshot: a by-name `peek` costs two
 * `Atomics.load`s per field (~10 ns each on Node 20), which dominated the E8/E9 walk (#8).
 */
export type FieldRef = number & { readonly __fieldRef: unique symbol };

/** A handle: (generation << 16) | index. 0 is never a valid handle (generation of a live record is odd). */
export type Handle = number;

declare const tableBrand: unique symbol;
/**
 * A handle into ONE table: a region handle does not type-check where an extent handle is wanted.
 * Only a type (no runtime cost); a table's records and its handle-valued fields carry it.
 */
export type TableHandle<T extends string> = Handle & { readonly [tableBrand]: T };
/** no record (0): a valid value of every table's handle type */
export const NO_HANDLE = 0 as 0 & { readonly [tableBrand]: never };

/** Which fields of a table hold a handle into which table (a type-level map; the schema stays i32). */
export type HandleFields<S extends TableSchema> = { readonly [K in keyof S]?: Handle };
/** The type a field's value has: its handle type for a handle field, else number. */
type FieldValue<R, K> = K extends keyof R ? Exclude<R[K], undefined> : number;

const MAX_RECORDS = 1 << 16;
const GEN_MASK = 0x7fff;

export class RecordTable<S extends TableSchema, H extends Handle = Handle, R extends HandleFields<S> = {}> {
  readonly name: string;
  readonly schema: S;
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  readonly recordWords: number;
  readonly words: Int32Array;
  readonly f64: Float64Array;
  /** word offset of each field within a record (after the bookkeeping words) */
  readonly offset: { readonly [K in keyof S]: number };
  /** each field's FieldRef (one keyed lookup per by-name access instead of two) */
  private readonly refs: { readonly [K in keyof S]: FieldRef };
  /**
   * Each field's FieldRef by name, as a fast-properties object (`refs` above is built key by key and
   * V8 keeps it in dictionary mode): `T.getRef(h, T.f.dpaStart)` at a hot call site is a
   * monomorphic property load, where `T.get(h, 'dpaStart')` is a keyed lookup at a call site every
   * field shares (megamorphic: ~5 ns more per access on Node 20, #17 docs/performance.md "Tenth session: the event thread's host work").
   */
  readonly f: { readonly [K in keyof S]: FieldRef };
  /** per-owner membership lists whose members live in this table (unlinked by `free`) */
  private readonly lists: TableList<Handle, Handle>[] = [];

  private constructor(name: string, schema: S, sab: SharedArrayBuffer) {
    this.name = name;
    this.schema = schema;
    this.sab = sab;
    const off: Record<string, number> = {};
    let w = REC_META_WORDS;
    for (const [k, t] of Object.entries(schema)) {
      if (t === 'f64' && w % 2 !== 0) w++;
      off[k] = w;
      w += t === 'i32' ? 1 : t === 'f64' ? 2 : 4;
    }
    if (w % 2 !== 0) w++; // keep every record 8-byte aligned for f64 fields
    this.recordWords = w;
    this.offset = off as { [K in keyof S]: number };
    const refs: Record<string, number> = {};
    for (const [k, t] of Object.entries(schema)) refs[k] = off[k]! * 2 + (t === 'f64' ? 1 : 0);
    this.refs = refs as { [K in keyof S]: FieldRef };
    this.f = Object.fromEntries(Object.entries(refs)) as { [K in keyof S]: FieldRef };
    this.capacity = Math.floor((sab.byteLength / I32 - TABLE_HEADER_WORDS) / w);
    this.words = new Int32Array(sab);
    this.f64 = new Float64Array(sab, 0, Math.floor(sab.byteLength / 8));
  }

  static create<S extends TableSchema>(name: string, schema: S, capacity: number): RecordTable<S> {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity >= MAX_RECORDS) {
      throw new RangeError(`table ${name}: capacity ${capacity} must be in [1, ${MAX_RECORDS - 1}]`);
    }
    const probe = new RecordTable(name, schema, new SharedArrayBuffer(8 * (TABLE_HEADER_WORDS + 64)));
    const sab = new SharedArrayBuffer((TABLE_HEADER_WORDS + probe.recordWords * capacity) * I32);
    return new RecordTable(name, schema, sab);
  }

  /** Attach to a table's buffer; `H` / `R` name its handle type and its handle-valued fields. */
  static attach<S extends TableSchema, H extends Handle = Handle, R extends HandleFields<S> = {}>(name: string, schema: S, sab: SharedArrayBuffer): RecordTable<S, H, R> {
    return new RecordTable<S, H, R>(name, schema, sab);
  }

  /** @internal word index of a record's first word */
  base(index: number): number {
    return TABLE_HEADER_WORDS + index * this.recordWords;
  }

  /** @internal the table's own spinlock (xa_lock); TableList takes it for its members' table */
  lock(): void {
    while (Atomics.compareExchange(this.words, TABLE_LOCK, 0, 1) !== 0) { /* spin: held for a few loads */ }
  }

  /** @internal */
  unlock(): void {
    Atomics.store(this.words, TABLE_LOCK, 0);
  }

  /** Allocate a zeroed record. Returns NO_HANDLE when the table is full (the caller's -ENOMEM). */
  alloc(): H {
    const W = this.words;
    this.lock();
    let index: number;
    const head = W[TABLE_FREE_HEAD]!;
    if (head !== 0) {
      index = head - 1;
      W[TABLE_FREE_HEAD] = W[this.base(index) + REC_NEXT_FREE]!;
    } else {
      index = W[TABLE_HWM]!;
      if (index >= this.capacity) { this.unlock(); return NO_HANDLE as unknown as H; }
      W[TABLE_HWM] = index + 1;
    }
    const b = this.base(index);
    W.fill(0, b + REC_META_WORDS, b + this.recordWords);
    const gen = ((W[b + REC_GEN]! + 1) | 1) & GEN_MASK || 1; // odd = live
    W[b + REC_NEXT_FREE] = 0;
    Atomics.store(W, b + REC_GEN, gen);
    W[TABLE_USED]!++;
    this.unlock();
    return ((gen << 16) | index) as H;
  }

  /** Free a record; its handle becomes stale. */
  free(h: H): void {
    const index = this.check(h);
    const W = this.words;
    this.lock();
    for (const l of this.lists) l.unlinkLocked(index);
    const b = this.base(index);
    Atomics.store(W, b + REC_GEN, (W[b + REC_GEN]! + 1) & GEN_MASK); // even = free
    W[b + REC_NEXT_FREE] = W[TABLE_FREE_HEAD]!;
    W[TABLE_FREE_HEAD] = index + 1;
    W[TABLE_USED]!--;
    this.unlock();
  }

  /** Record index of a live handle; throws StaleHandleError otherwise. */
  check(h: H): number {
    const index = h & 0xffff;
    const gen = h >>> 16;
    if (h <= 0 || index >= this.capacity || (gen & 1) === 0 || this.words[this.base(index) + REC_GEN] !== gen) {
      throw Errors.stale(this.name, h);
    }
    return index;
  }

  /**
   * Is the handle's record live now? `check` and `isLive` read the generation with a plain load
   * (#17, docs/performance.md "Tenth session: the event thread's host work"): `alloc`/`free` publish it with `Atomics.store` under the table lock,
   * and a liveness test is a single read whose value is either generation (an aligned Int32 is
   * never torn; V8 re-reads a typed-array element on every call and keeps such loads in program
   * order), so it sees what `Atomics.load` would — without the call `Atomics.load` costs on Node 20
   * (~7 ns, not inlined), paid on every field access and at every entry of the E8/E9 walk. The
   * snapshots that read fields between two generation reads (`peekRef`, `peekRefs`) keep
   * `Atomics.load`: their second read must not be satisfied before the field reads.
   */
  isLive(h: H): boolean {
    const index = h & 0xffff;
    return h > 0 && index < this.capacity && ((h >>> 16) & 1) === 1 && this.words[this.base(index) + REC_GEN] === h >>> 16;
  }

  /**
   * Read a field of a record that another thread may free concurrently — for walks over a table
   * shared by objects under different locks (every memdev's staged extents live in one table):
   * undefined when the record is not live before or after the read, instead of a stale-handle
   * error. Kernel lists are per object; a shared table must not turn a neighbour's free into a
   * use-after-free.
   */
  peek<K extends keyof S & string>(h: H, field: K): FieldValue<R, K> | undefined {
    return this.peekRef(h, this.refs[field]) as FieldValue<R, K> | undefined;
  }

  get<K extends keyof S & string>(h: H, field: K): FieldValue<R, K> {
    return this.getRef(h, this.refs[field]) as FieldValue<R, K>;
  }

  set<K extends keyof S & string>(h: H, field: K, v: FieldValue<R, K>): void {
    const ref = this.refs[field];
    const at = this.base(this.check(h)) + (ref >> 1);
    if (ref & 1) this.f64[at >> 1] = v;
    else this.words[at] = v;
  }

  /** Resolve a field once, for hot loops (`peekRef`, `getRef`). */
  field<K extends keyof S & string>(field: K): FieldRef {
    return this.refs[field];
  }

  /** `peek` through a resolved field. */
  peekRef(h: H, ref: FieldRef): number | undefined {
    const index = h & 0xffff;
    const gen = h >>> 16;
    if (h <= 0 || index >= this.capacity) return undefined;
    const b = this.base(index);
    if (Atomics.load(this.words, b + REC_GEN) !== gen) return undefined;
    const at = b + (ref >> 1);
    const v = ref & 1 ? this.f64[at >> 1]! : this.words[at]!;
    return Atomics.load(this.words, b + REC_GEN) === gen ? v : undefined;
  }

  /**
   * Several fields of a record another thread may free concurrently, read as one snapshot: the
   * generation is read with `Atomics.load` before and after plain reads of the fields (a seqlock
   * read side). Two atomic loads per record instead of two per field — an `Atomics.load` costs
   * ~10 ns on Node 20 (it is not inlined), a plain read under 1 ns. False when the record is not
   * live across the reads (`out` is then meaningless).
   */
  peekRefs(h: H, refs: readonly FieldRef[], out: number[]): boolean {
    const index = h & 0xffff;
    const gen = h >>> 16;
    if (h <= 0 || index >= this.capacity) return false;
    const b = this.base(index);
    const W = this.words;
    if (Atomics.load(W, b + REC_GEN) !== gen) return false;
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      const at = b + (ref >> 1);
      out[i] = ref & 1 ? this.f64[at >> 1]! : W[at]!;
    }
    return Atomics.load(W, b + REC_GEN) === gen;
  }

  /** `set` through a resolved field. */
  setRef(h: H, ref: FieldRef, v: number): void {
    const at = this.base(this.check(h)) + (ref >> 1);
    if (ref & 1) this.f64[at >> 1] = v;
    else this.words[at] = v;
  }

  /** `get` through a resolved field. */
  getRef(h: H, ref: FieldRef): number {
    const at = this.base(this.check(h)) + (ref >> 1);
    return ref & 1 ? this.f64[at >> 1]! : this.words[at]!;
  }

  // The atomic and uuid accessors through a resolved i32 field (`T.f.name`): what `add`, `cas`,
  // `load`, `store`, `getUuid`, `setUuid` do by name, without the keyed lookup into the
  // dictionary-mode `offset` map at a call site every field shares (#17: ~5–8 ns per access).

  /** `add` through a resolved i32 field. */
  addRef(h: H, ref: FieldRef, d: number): number {
    return Atomics.add(this.words, this.base(this.check(h)) + (ref >> 1), d) + d;
  }

  /** `cas` through a resolved i32 field. */
  casRef(h: H, ref: FieldRef, expect: number, value: number): number {
    return Atomics.compareExchange(this.words, this.base(this.check(h)) + (ref >> 1), expect, value);
  }

  /** `exchange` through a resolved i32 field. */
  exchangeRef(h: H, ref: FieldRef, value: number): number {
    return Atomics.exchange(this.words, this.base(this.check(h)) + (ref >> 1), value);
  }

  /** `load` through a resolved i32 field. */
  loadRef(h: H, ref: FieldRef): number {
    return Atomics.load(this.words, this.base(this.check(h)) + (ref >> 1));
  }

  /** `store` through a resolved i32 field. */
  storeRef(h: H, ref: FieldRef, v: number): void {
    Atomics.store(this.words, this.base(this.check(h)) + (ref >> 1), v);
  }

  /** `getUuid` through a resolved field. */
  getUuidRef(h: H, ref: FieldRef): string {
    return wordsToUuid(this.words, this.base(this.check(h)) + (ref >> 1));
  }

  /** `setUuid` through a resolved field. */
  setUuidRef(h: H, ref: FieldRef, uuid: string | null): void {
    uuidToWords(uuid, this.words, this.base(this.check(h)) + (ref >> 1));
  }

  /** Atomic add on an i32 field (for counters that are not under one lock, e.g. use counts). */
  add<K extends keyof S & string>(h: H, field: K, d: number): number {
    return Atomics.add(this.words, this.base(this.check(h)) + this.offset[field], d) + d;
  }

  /** Atomic compare-exchange on an i32 field; returns the previous value. */
  cas<K extends keyof S & string>(h: H, field: K, expect: number, value: number): number {
    return Atomics.compareExchange(this.words, this.base(this.check(h)) + this.offset[field], expect, value);
  }

  /** Atomic exchange on an i32 field; returns the previous value. Models a PLAIN store whose
   *  caller wants to know what it overwrote (a lost update's evidence, e.g. nr_extents: H6). */
  exchange<K extends keyof S & string>(h: H, field: K, value: number): number {
    return Atomics.exchange(this.words, this.base(this.check(h)) + this.offset[field], value);
  }

  /** Atomic load of an i32 field (for fields read outside their lock, e.g. extents_scanned). */
  load<K extends keyof S & string>(h: H, field: K): FieldValue<R, K> {
    return Atomics.load(this.words, this.base(this.check(h)) + this.offset[field]) as FieldValue<R, K>;
  }

  /** Atomic store of an i32 field (store-release). */
  store<K extends keyof S & string>(h: H, field: K, v: FieldValue<R, K>): void {
    Atomics.store(this.words, this.base(this.check(h)) + this.offset[field], v);
  }

  /** Index of a handle's record (for side arrays sized by capacity). */
  indexOf(h: H): number {
    return this.check(h);
  }

  getUuid<K extends keyof S & string>(h: H, field: K): string {
    const at = this.base(this.check(h)) + this.offset[field];
    return wordsToUuid(this.words, at);
  }

  setUuid<K extends keyof S & string>(h: H, field: K, uuid: string | null): void {
    const at = this.base(this.check(h)) + this.offset[field];
    uuidToWords(uuid, this.words, at);
  }

  /**
   * `live()` into a caller's scratch (at least `capacity` long): the count. One pass over the
   * generation words now, instead of a generator the consumer resumes per record — the same
   * racy walk (a record allocated behind the pass is missed, as the lazy walk may miss one freed
   * and reallocated ahead of it); consumers re-check each record with `peekRefs`.
   */
  liveInto(out: Int32Array): number {
    const W = this.words;
    const hwm = Math.min(Atomics.load(W, TABLE_HWM), out.length);
    let n = 0;
    for (let i = 0; i < hwm; i++) {
      const gen = Atomics.load(W, this.base(i) + REC_GEN);
      if (gen & 1) out[n++] = (gen << 16) | i;
    }
    return n;
  }

  /**
   * Every live record's handle (`out`, in index order) and the fields `refs` name (`vals`, one
   * row of `refs.length` per record: what `liveInto` + `peekRefs` read), in one pass under the
   * table's own lock (the xa_lock `alloc` and `free` take): no record is allocated or freed
   * during the pass, so each generation is read once, with a plain load. `vals` must hold
   * `out.length * refs.length`. For a walk over a table shared by threads that only allocate and
   * free under that lock (the kernel's __request_region overlap check runs under the global
   * resource_lock, too); the lock is held for the pass only, a few ns per record.
   */
  liveRefsIntoLocked(refs: readonly FieldRef[], out: Int32Array, vals: Float64Array): number {
    const W = this.words;
    const F = this.f64;
    const nr = refs.length;
    let n = 0;
    this.lock();
    try {
      const hwm = Math.min(W[TABLE_HWM]!, out.length);
      for (let i = 0; i < hwm; i++) {
        const b = this.base(i);
        const gen = W[b + REC_GEN]!;
        if ((gen & 1) === 0) continue;
        const vb = n * nr;
        for (let f = 0; f < nr; f++) {
          const ref = refs[f]!;
          const at = b + (ref >> 1);
          vals[vb + f] = ref & 1 ? F[at >> 1]! : W[at]!;
        }
        out[n++] = (gen << 16) | i;
      }
    } finally {
      this.unlock();
    }
    return n;
  }

  /** Live handles in index order (the xarray walk of the kernel). */
  *live(): IterableIterator<H> {
    const W = this.words;
    const hwm = Atomics.load(W, TABLE_HWM);
    for (let i = 0; i < hwm; i++) {
      const gen = Atomics.load(W, this.base(i) + REC_GEN);
      if (gen & 1) yield ((gen << 16) | i) as H;
    }
  }

  liveCount(): number {
    return Atomics.load(this.words, TABLE_USED);
  }

  /** @internal register a membership list whose members are records of this table */
  addList(l: TableList<Handle, Handle>): void {
    this.lists.push(l);
  }

  /** Free every record (in-place reset between stress iterations; callers are quiescent). */
  clear(): void {
    const W = this.words;
    this.lock();
    const hwm = W[TABLE_HWM]!;
    for (let i = 0; i < hwm; i++) {
      const b = this.base(i);
      if (W[b + REC_GEN]! & 1) W[b + REC_GEN] = (W[b + REC_GEN]! + 1) & GEN_MASK;
    }
    // rebuild the free list in index order so a reset run allocates like a fresh one
    W[TABLE_FREE_HEAD] = 0;
    for (let i = hwm - 1; i >= 0; i--) {
      W[this.base(i) + REC_NEXT_FREE] = W[TABLE_FREE_HEAD]!;
      W[TABLE_FREE_HEAD] = i + 1;
    }
    W[TABLE_USED] = 0;
    for (const l of this.lists) l.resetOwners();
    this.unlock();
  }
}

/**
 * A per-owner membership list kept inside the tables (the kernel's per-object list / xarray, so a
 * walk visits one object's members instead of scanning the whole table): a doubly-linked list
 * through three i32 fields of each member record (owner handle, next, prev as index + 1) with head
 * and tail in two i32 fields of the owner record. Linking, unlinking and taking a snapshot run
 * under the members' table spinlock (the xarray's own xa_lock), so a walker on one thread never
 * follows a link another thread is rewriting; `free()` of a member unlinks it. Callers still hold
 * the kernel lock that guards the membership, as before. A walk takes a snapshot and checks each
 * handle afterwards exactly as a scan did.
 */
export class TableList<O extends Handle = Handle, M extends Handle = Handle> {
  private readonly M: RecordTable<TableSchema>;
  private readonly O: RecordTable<TableSchema>;
  private readonly fOwner: number;
  private readonly fNext: number;
  private readonly fPrev: number;
  private readonly fHead: number;
  private readonly fTail: number;

  constructor(
    members: RecordTable<TableSchema>,
    member: { owner: string; next: string; prev: string },
    owners: RecordTable<TableSchema>,
    owner: { head: string; tail: string },
  ) {
    this.M = members;
    this.O = owners;
    const off = (t: RecordTable<TableSchema>, f: string): number => {
      const o = t.offset[f];
      if (o === undefined || t.schema[f] !== 'i32') throw new Error(`table ${t.name}: list field ${f} must be an i32 field`);
      return o;
    };
    this.fOwner = off(members, member.owner);
    this.fNext = off(members, member.next);
    this.fPrev = off(members, member.prev);
    this.fHead = off(owners, owner.head);
    this.fTail = off(owners, owner.tail);
    members.addList(this);
  }

  /** Append `member` to `owner`'s list (moving it off any list it is on). */
  link(owner: O, member: M): void {
    const mi = this.M.check(member);
    this.M.lock();
    try {
      this.unlinkLocked(mi);
      // a stale owner handle (the object went away under a racing thread) has no list to join
      if (!this.O.isLive(owner)) return;
      const oi = owner & 0xffff;
      const W = this.M.words;
      const OW = this.O.words;
      const mb = this.M.base(mi);
      const ob = this.O.base(oi);
      const tail = OW[ob + this.fTail]!;
      W[mb + this.fOwner] = owner;
      W[mb + this.fPrev] = tail;
      W[mb + this.fNext] = 0;
      if (tail !== 0) W[this.M.base(tail - 1) + this.fNext] = mi + 1;
      else OW[ob + this.fHead] = mi + 1;
      OW[ob + this.fTail] = mi + 1;
    } finally {
      this.M.unlock();
    }
  }

  /** @internal caller holds the members' table lock */
  unlinkLocked(mi: number): void {
    const W = this.M.words;
    const mb = this.M.base(mi);
    const owner = W[mb + this.fOwner]!;
    if (owner === 0) return;
    const next = W[mb + this.fNext]!;
    const prev = W[mb + this.fPrev]!;
    if (prev !== 0) W[this.M.base(prev - 1) + this.fNext] = next;
    if (next !== 0) W[this.M.base(next - 1) + this.fPrev] = prev;
    // an owner freed meanwhile keeps no head/tail of ours (its record may already be reused)
    if (this.O.isLive(owner)) {
      const OW = this.O.words;
      const ob = this.O.base(owner & 0xffff);
      if (prev === 0) OW[ob + this.fHead] = next;
      if (next === 0) OW[ob + this.fTail] = prev;
    }
    W[mb + this.fOwner] = 0;
    W[mb + this.fNext] = 0;
    W[mb + this.fPrev] = 0;
  }

  /** @internal members' table cleared (callers quiescent): every owner's list is empty */
  resetOwners(): void {
    const OW = this.O.words;
    const hwm = Atomics.load(OW, TABLE_HWM);
    for (let i = 0; i < hwm; i++) {
      const ob = this.O.base(i);
      OW[ob + this.fHead] = 0;
      OW[ob + this.fTail] = 0;
    }
  }

  /** The live members of `owner`, in link order (empty when the owner is not live). */
  members(owner: O): M[] {
    this.scratch ??= new Int32Array(this.M.capacity);
    const n = this.membersInto(owner, this.scratch);
    return Array.from(this.scratch.subarray(0, n)) as M[];
  }
  /** members()' list, copied out before it returns */
  private scratch: Int32Array | null = null;

  /**
   * `members()` into a caller's scratch (at least the members' table capacity long, so every
   * member fits): the count. The same snapshot, taken under the table lock, without an array per
   * call — the per-extent walks of the event thread (#17) run it once per onlined extent.
   */
  membersInto(owner: O, out: Int32Array): number {
    if (!this.O.isLive(owner)) return 0;
    const W = this.M.words;
    const ob = this.O.base(owner & 0xffff);
    let n = 0;
    this.M.lock();
    try {
      let i = this.O.words[ob + this.fHead]!;
      while (i !== 0 && n < out.length) {
        const b = this.M.base(i - 1);
        if (W[b + this.fOwner] !== owner) break; // (a reused owner record: the list is not its own)
        out[n++] = (W[b + REC_GEN]! << 16) | (i - 1);
        i = W[b + this.fNext]!;
      }
    } finally {
      this.M.unlock();
    }
    return n;
  }

  /**
   * A hand-written walk of `owner`'s members under the members' table lock, for the per-extent
   * O(R) walks of the event thread (#17, docs/performance.md "Tenth session: the event thread's host work"): `beginWalk` takes the lock and
   * returns the first member's record index + 1 (0: none, or the owner is not live); the caller
   * reads each member's fields straight from the members' table (`words` / `f64` at
   * `base(i - 1) + offset[field]`, offsets resolved once), steps with `nextLocked`, and MUST end
   * with `endWalk()` (try/finally; `beginWalk` takes the lock even when it returns 0). What it reads is what `membersRefsInto` reads — the same
   * pass, the same lock, the same stop at a member whose owner field is not `owner` — without a
   * copy of every field of every member into a values array and a generic loop over field refs
   * (18 ns per member of the region walk, measured on dist; ~5 ns this way).
   */
  beginWalk(owner: O): number {
    this.M.lock();
    if (!this.O.isLive(owner)) return 0;
    const i = this.O.words[this.O.base(owner & 0xffff) + this.fHead]!;
    if (i === 0 || this.M.words[this.M.base(i - 1) + this.fOwner] !== owner) return 0;
    return i;
  }

  /** The member after record index + 1 `i` in `owner`'s list, or 0 (see `beginWalk`). */
  nextLocked(owner: O, i: number): number {
    const W = this.M.words;
    const next = W[this.M.base(i - 1) + this.fNext]!;
    if (next === 0 || W[this.M.base(next - 1) + this.fOwner] !== owner) return 0;
    return next;
  }

  /** The handle of the member at record index + 1 `i` (inside a walk: it is live). */
  handleAt(i: number): M {
    return ((this.M.words[this.M.base(i - 1) + REC_GEN]! << 16) | (i - 1)) as M;
  }

  /** Release the members' table lock `beginWalk` took (always, whether or not it found a member). */
  endWalk(): void {
    this.M.unlock();
  }

  /**
   * `membersInto` that also reads `refs` of each member in the same pass: member k's handle in
   * `out[k]`, its field i in `vals[k * refs.length + i]`. The fields are read under the members'
   * table lock, where no member can be freed or reallocated (`free` and `alloc` take that lock),
   * so no generation check is needed — one pass and plain loads instead of the list snapshot
   * followed by a `peekRefs` seqlock read (two `Atomics.load`s) per member. What a caller sees is
   * what the snapshot-then-peek walk sees when nothing is freed between the two; under the
   * controlled scheduler nothing can be (no instrumented point lies between them), in free runs
   * the walk simply reads the list a few ns earlier. The per-extent O(R) walks of the event
   * thread run it (#17). `vals` must hold `out.length * refs.length`.
   */
  membersRefsInto(owner: O, refs: readonly FieldRef[], out: Int32Array, vals: Float64Array): number {
    if (!this.O.isLive(owner)) return 0;
    const M = this.M;
    const W = M.words;
    const F = M.f64;
    const nr = refs.length;
    const ob = this.O.base(owner & 0xffff);
    let n = 0;
    M.lock();
    try {
      let i = this.O.words[ob + this.fHead]!;
      while (i !== 0 && n < out.length) {
        const b = M.base(i - 1);
        if (W[b + this.fOwner] !== owner) break; // (a reused owner record: the list is not its own)
        out[n] = (W[b + REC_GEN]! << 16) | (i - 1);
        const vb = n * nr;
        for (let f = 0; f < nr; f++) {
          const ref = refs[f]!;
          const at = b + (ref >> 1);
          vals[vb + f] = ref & 1 ? F[at >> 1]! : W[at]!;
        }
        n++;
        i = W[b + this.fNext]!;
      }
    } finally {
      M.unlock();
    }
    return n;
  }
}

/**
 * The last uuid each direction converted, per thread: the event thread converts the same few
 * uuids over and over (a chain's members share one; untagged ones are all the null uuid), and a
 * string round trip per field access cost ~5% of its host work (#17). Same results: a hit
 * returns the string (or writes the words) the full conversion would.
 */
let w2uW0 = 0, w2uW1 = 0, w2uW2 = 0, w2uW3 = 0;
let w2uStr: string | null = null;
let u2wStr: string | null = null;
let u2wW0 = 0, u2wW1 = 0, u2wW2 = 0, u2wW3 = 0;

export function wordsToUuid(w: Int32Array, at: number): string {
  const a = w[at]! | 0, b = w[at + 1]! | 0, c = w[at + 2]! | 0, d = w[at + 3]! | 0;
  if (w2uStr !== null && a === w2uW0 && b === w2uW1 && c === w2uW2 && d === w2uW3) return w2uStr;
  let s = '';
  for (const v0 of [a, b, c, d]) {
    const v = v0 >>> 0;
    s += HEX_BYTE[v >>> 24]! + HEX_BYTE[(v >>> 16) & 0xff]! + HEX_BYTE[(v >>> 8) & 0xff]! + HEX_BYTE[v & 0xff]!;
  }
  const out = `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  w2uW0 = a; w2uW1 = b; w2uW2 = c; w2uW3 = d; w2uStr = out;
  return out;
}

/** Hex digit value of a char code, -1 when it is not one (0-9, a-f, A-F, as parseInt reads them). */
function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * The canonical 8-4-4-4-12 form parsed by char code into u2w*: true when `u` is in it. Anything
 * else takes the general path (which the fast one agrees with on every canonical string).
 */
function parseCanonical(u: string): boolean {
  if (u.length !== 36) return false;
  let word = 0;
  let k = 0;
  const out = [0, 0, 0, 0];
  for (let i = 0; i < 36; i++) {
    const c = u.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
      continue;
    }
    const v = hexVal(c);
    if (v < 0) return false;
    word = (word << 4) | v;
    if (++k % 8 === 0) { out[(k >> 3) - 1] = word | 0; word = 0; }
  }
  u2wW0 = out[0]!; u2wW1 = out[1]!; u2wW2 = out[2]!; u2wW3 = out[3]!;
  return true;
}

/** Store a uuid string (null = the null UUID) into 4 words. */
export function uuidToWords(uuid: string | null, w: Int32Array, at: number): void {
  if (uuid !== null && (uuid === u2wStr || parseCanonical(uuid))) {
    u2wStr = uuid;
    w[at] = u2wW0; w[at + 1] = u2wW1; w[at + 2] = u2wW2; w[at + 3] = u2wW3;
    return;
  }
  const digits = (uuid ?? '').replace(/-/g, '');
  for (let i = 0; i < 4; i++) {
    w[at + i] = digits.length === 32 ? parseInt(digits.slice(i * 8, i * 8 + 8), 16) | 0 : 0;
  }
}
