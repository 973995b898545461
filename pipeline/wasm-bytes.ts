/**
 * The WebAssembly binary format, as far as HEIR's hand-assembled modules need it (core spec 2.0,
 * chapter 5): LEB128 integers, vectors, names, sections, and a whole module of functions over one
 * exported memory, and the core of an instruction writer. The modules (operators/forest/walk-wasm.ts,
 * pipeline/sha1-simd.ts, operators/ipfix-wasm.ts) write their function bodies with these; no toolchain and no binary file is involved.
 */

/** Value types (spec 5.3.1). */
export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

/**
 * Instruction writer of one function body: the instructions on locals and constants every module
 * uses (spec 5.4); a module extends it with its own.
 */
export class FunctionCode {
  readonly bytes: number[] = [];
  op(...b: number[]): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }
  get(l: number): this {
    return this.op(0x20, ...uleb(l));
  }
  set(l: number): this {
    return this.op(0x21, ...uleb(l));
  }
  tee(l: number): this {
    return this.op(0x22, ...uleb(l));
  }
  i32(v: number): this {
    return this.op(0x41, ...sleb(v | 0));
  }
}

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit values). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

/** A vector: its length, then its items. */
export function vec(items: readonly (readonly number[])[]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** A name: its UTF-8 length, then its bytes. */
export function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/** A section: its id, its byte length, its bytes. */
export function section(id: number, bytes: readonly number[]): number[] {
  return [id, ...uleb(bytes.length), ...bytes];
}

/** One function of a module: i32 parameters and results, and its body (local declarations, code, `end`). */
export interface WasmFunction {
  readonly params: number;
  readonly results: number;
  readonly body: readonly number[];
  /** Exported under this name; functions call each other by their index in the module's list. */
  readonly export?: string;
}

/** A module of these functions over one memory of `pages` 64 KiB pages, exported as "memory". */
export function moduleBytes(functions: readonly WasmFunction[], pages = 1): Uint8Array<ArrayBuffer> {
  const signatures: string[] = [];
  const typeOf = functions.map((f) => {
    const key = `${f.params}:${f.results}`;
    if (!signatures.includes(key)) signatures.push(key);
    return signatures.indexOf(key);
  });
  const types = signatures.map((key) => {
    const [params, results] = key.split(':').map(Number);
    return [0x60, ...vec(Array.from({ length: params }, () => [I32])), ...vec(Array.from({ length: results }, () => [I32]))];
  });
  const exports = functions.flatMap((f, i) => (f.export === undefined ? [] : [[...name(f.export), 0x00, ...uleb(i)]]));
  const head = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
    ...section(1, vec(types)),
    ...section(3, vec(typeOf.map((t) => uleb(t)))),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(7, vec([...exports, [...name('memory'), 0x02, 0]])),
  ];
  // The code section, section(10, vec(each body with its length)), copied body by body: spread
  // into array literals, a module of a few hundred thousand bytes took a third of a second.
  let codeLength = uleb(functions.length).length;
  for (const f of functions) codeLength += uleb(f.body.length).length + f.body.length;
  const code = [10, ...uleb(codeLength), ...uleb(functions.length)];
  const out = new Uint8Array(head.length + code.length + codeLength - uleb(functions.length).length);
  out.set(head);
  out.set(code, head.length);
  let at = head.length + code.length;
  for (const f of functions) {
    const size = uleb(f.body.length);
    out.set(size, at);
    at += size.length;
    for (let i = 0; i < f.body.length; i++) out[at++] = f.body[i];
  }
  return out;
}
