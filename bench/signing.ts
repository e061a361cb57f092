/**
 * Bench 4 — signing. `signatureHeaders` (Standard Webhooks, node:crypto HMAC, keys cached per secret)
 * with one secret, and with two while a secret rotates, on the contract's example body;
 * baseline: one bare node:crypto HMAC-SHA256 over the same "<id>.<timestamp>.<body>".
 */
import { createHmac } from 'node:crypto';
import { buildPayload, exampleDetail, parseDetail } from '../lambdas/core/events';
import { signatureHeaders } from '../lambdas/core/signing';
import { deliveryIdFor, newSecret } from '../lambdas/core/subscriptions';
import { fmt, get, sink, timeCases, type Section } from './lib/timing';

const SIGNATURES_PER_ROUND = 10_000;

export async function benchSigning(): Promise<Section> {
  const body = buildPayload(parseDetail('return_order.status.changed', exampleDetail('return_order.status.changed')));
  const deliveryId = deliveryIdFor('0d4c5b7e-bench', 'sub_bench');
  const at = new Date('2026-11-28T10:00:00.456Z');
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const current = newSecret();
  const previous = newSecret();
  const key = Buffer.from(current.slice('whsec_'.length), 'base64');

  const bare = () => createHmac('sha256', key).update(`${deliveryId}.${timestamp}.${body}`).digest('base64');
  // Correctness first: the library and the bare HMAC must agree, and rotation must add a signature.
  const one = signatureHeaders(deliveryId, body, [current], at);
  if (one['webhook-signature'] !== `v1,${bare()}` || one['webhook-timestamp'] !== timestamp) throw new Error('signatureHeaders disagrees with a bare HMAC');
  const two = signatureHeaders(deliveryId, body, [current, previous], at);
  if (!two['webhook-signature'].startsWith(`v1,${bare()} v1,`)) throw new Error('rotation did not add a second signature');

  const cases = [
    {
      name: 'bare',
      run: () => {
        for (let i = 0; i < SIGNATURES_PER_ROUND; i++) sink.value += bare().length;
      },
    },
    {
      name: 'one',
      run: () => {
        for (let i = 0; i < SIGNATURES_PER_ROUND; i++) sink.value += signatureHeaders(deliveryId, body, [current], at)['webhook-signature'].length;
      },
    },
    {
      name: 'two',
      run: () => {
        for (let i = 0; i < SIGNATURES_PER_ROUND; i++) sink.value += signatureHeaders(deliveryId, body, [current, previous], at)['webhook-signature'].length;
      },
    },
  ].map((c) => ({ ...c, ops: SIGNATURES_PER_ROUND }));
  const timings = await timeCases(cases, { warmup: 1, rounds: 5 });
  const b = get(timings, 'bare');
  const s1 = get(timings, 'one');
  const s2 = get(timings, 'two');
  return {
    title: `4. Signing — webhook headers for the contract's example body (${Buffer.byteLength(body)} B), ${fmt.int(SIGNATURES_PER_ROUND)} per round`,
    reading: 'ratio = µs per header set ÷ µs of one bare node:crypto HMAC-SHA256 (>1 = slower)',
    rows: [
      { case: "createHmac('sha256') (baseline)", value: fmt.perSec(b.opsPerSec, 'sig'), perOp: fmt.us(b.usPerOp), ratio: '1.00× (base)' },
      { case: 'signatureHeaders, 1 secret', value: fmt.perSec(s1.opsPerSec, 'req'), perOp: fmt.us(s1.usPerOp), ratio: fmt.ratio(s1.usPerOp / b.usPerOp) },
      { case: 'signatureHeaders, 2 secrets (rotation)', value: fmt.perSec(s2.opsPerSec, 'req'), perOp: fmt.us(s2.usPerOp), ratio: fmt.ratio(s2.usPerOp / b.usPerOp), note: `${fmt.ratio(s2.usPerOp / s1.usPerOp)} the cost of 1 secret` },
    ],
  };
}
