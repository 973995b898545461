import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyRubric, RUBRIC_QUESTIONS } from '../../knowledge/mitre-rubric.ts';

test('all answers unknown resolve to the worst vector', () => {
  const r = applyRubric({});
  assert.is(r.vector, 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H');
  assert.is(r.score, 10);
  assert.match(r.reasons.AV, /unknown/);
  assert.match(r.extended, /^XAVN:U\//);
});

test('a Bluetooth infusion-pump flaw needing pairing: adjacent, user interaction, therapy integrity high', () => {
  const none = Object.fromEntries(RUBRIC_QUESTIONS.filter((q) => q.kind === 'impact').map((q) => [q.id, 'none']));
  const r = applyRubric({
    ...none,
    XAVN: 'no', XAVT: 'no', XAVW: 'yes', XAVR: 'no', XAVP: 'no',
    XACL: 'yes', XPRL: 'no', XPRZ: 'no', XPRS: 'no', XUI: 'yes', XS: 'yes', XCPM: 'no',
    XIT: 'high', XAT: 'high', XCP: 'high',
  });
  assert.is(r.vector, 'CVSS:3.1/AV:A/AC:L/PR:N/UI:R/S:C/C:L/I:H/A:H');
  assert.match(r.reasons.AV, /wireless within radio range/);
  assert.match(r.reasons.C, /500 patients or fewer/);
  assert.match(r.reasons.I, /therapy/);
  assert.is(r.score, 8.7); // 1.08 × (5.97 impact + 2.07 exploitability), rounded up
});

test('default credentials count as no privileges; physical contact gives AV:P', () => {
  const r = applyRubric({ XAVN: 'no', XAVT: 'no', XAVW: 'no', XAVP: 'yes', XPRL: 'yes', XPRZ: 'yes' });
  assert.is(r.base.AV, 'P');
  assert.is(r.base.PR, 'N');
  assert.match(r.reasons.PR, /default/);
});

test('bad answers and unknown question ids are errors naming them', () => {
  assert.throws(() => applyRubric({ XAVN: 'maybe' as never }), /XAVN: "maybe"/);
  assert.throws(() => applyRubric({ XNOPE: 'yes' }), /unknown rubric question id XNOPE/);
  assert.throws(() => applyRubric({ XCP: 'yes' }), /XCP: "yes" is not high, low, none or unknown/);
});

test.run();
