/**
 * The HTTP dissector counts 401 answers from the status line's bytes; this must agree with the
 * regular expression it replaced (/^HTTP\/\S+\s+401\b/ over the line as Latin-1 text) on any line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { firstWord, isStatus401, secondWord } from '../../../operators/l7/http.ts';
import { inspectL7 } from '../../../operators/l7/inspect.ts';

const RE = /^HTTP\/\S+\s+401\b/;
const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

test('known status lines', () => {
  for (const [line, want] of [
    ['HTTP/1.1 401 Unauthorized\r\n', true],
    ['HTTP/1.0 401\r\n', true],
    ['HTTP/1.1\t 401-x\r\n', true],
    ['HTTP/1.1 4010 x\r\n', false],
    ['HTTP/1.1 200 OK\r\n', false],
    ['HTTP/ 401 x\r\n', false],
    ['http/1.1 401 x\r\n', false],
    ['HTTP/1.1 401_\r\n', false],
    ['HTTP/1.1\u00a0401 x\r\n', true],
  ] as const) assert.is(isStatus401(enc(line), 0), want, line);
});

test('agrees with the regular expression on any line', () => {
  // Lines built from the pieces that matter, with any byte mixed in.
  const piece = fc.oneof(fc.constantFrom('HTTP/', '1.1', ' ', '\t', '\u00a0', '\v', '401', '4010', '_', 'a', '-', '\r\n', '\n'), fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b)));
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }), fc.integer({ min: 0, max: 3 }), (parts, lead) => {
      const text = 'x'.repeat(lead) + parts.join('');
      const bytes = enc(text);
      const lineEnd = text.slice(lead).search(/[\r\n]/);
      const line = lineEnd < 0 ? text.slice(lead) : text.slice(lead, lead + lineEnd);
      assert.is(isStatus401(bytes, lead), RE.test(latin1(enc(line))), JSON.stringify(text));
    }),
    { seed: 401, numRuns: 20000 },
  );
});

test('keep-alive: a Basic login in a later request, and 401s counted over every response', () => {
  const req = (auth?: string) => `GET /v HTTP/1.1\r\nHost: pump\r\n${auth ? `Authorization: ${auth}\r\n` : ''}\r\n`;
  const res = (code: number, server?: string) => `HTTP/1.1 ${code} X\r\n${server ? `Server: ${server}\r\n` : ''}Content-Length: 2\r\n\r\nok`;
  const basic = 'Basic ' + Buffer.from('nurse:pw1').toString('base64');
  const flow = (fwd: string, bwd: string) => inspectL7({ fwd: enc(fwd), bwd: enc(bwd), proto: 6, srcPort: 40000, dstPort: 80 });
  const login = flow(req() + req(basic) + req('Basic ' + Buffer.from('other:x').toString('base64')), res(401, 'Dev/1') + res(401) + res(200) + res(401, 'Other'));
  assert.is(login.http_server, 'Dev/1');
  assert.is(login.login_user, 'nurse', 'the first Basic login');
  assert.is(login.login_failures, 3, 'every 401 of the connection');
  const none = flow(req() + req('Digest x'), res(401, 'Dev/1') + res(401));
  assert.is(none.http_server, 'Dev/1');
  assert.is(none.login_failures, undefined);
  assert.is(none.http_basic_auth, undefined);
});

test('keep-alive: a Basic login in the tenth request, header name in any case; none after a body holding z', () => {
  const req = (extra = '') => `GET /z HTTP/1.1\r\nHost: pump\r\n${extra}\r\n`;
  const basic = 'Basic ' + Buffer.from('tech:pw2').toString('base64');
  const flow = (fwd: string) => inspectL7({ fwd: enc(fwd), bwd: enc('HTTP/1.1 200 OK\r\n\r\n'), proto: 6, srcPort: 40000, dstPort: 80 });
  const late = flow(req().repeat(9) + req(`aUtHoRiZaTiOn: ${basic}\r\n`));
  assert.is(late.login_user, 'tech');
  assert.is(late.http_basic_auth, true);
  const post = `POST /zz HTTP/1.1\r\nHost: pump\r\nContent-Length: 5\r\n\r\nzzzzz`;
  const none = flow(req() + post + req('X-Zone: z\r\n'));
  assert.is(none.http_basic_auth, undefined);
  assert.is(none.http_path, '/z');
});

test('the start line words are the first two items of split(\' \')', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 20, unit: fc.constantFrom('GET', ' ', '/', 'a', 'HTTP/1.1', '\t') }), (line) => {
      const [a, b] = line.split(' ');
      assert.is(firstWord(line), a);
      assert.is(secondWord(line), b);
    }),
    { seed: 11, numRuns: 5000 },
  );
});

test.run();
