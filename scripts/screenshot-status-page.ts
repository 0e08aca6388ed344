/**
 * Writes docs/status-page.png, the README's picture of the status page: a
 * `partita server` (the recording test app: 3 worker threads, slow batches so
 * lag shows) consumes a 6-partition topic that keeps receiving messages, and
 * headless Chromium captures its `GET /` after a few seconds of polling.
 *
 *   node --import ./bin/register.js scripts/screenshot-status-page.ts [out.png]
 *
 * Needs a broker (KAFKA_BROKERS, default 127.0.0.1:9092; `npm run kafka:start`)
 * and Chromium (test/helpers/chromium.ts).
 */
import { resolve } from 'node:path';
import { httpUrlOf, ROOT, startAppProcess, tempFile } from '../test/helpers/app.ts';
import { launchChromium } from '../test/helpers/chromium.ts';
import { createTopic, produceIds, unique, waitFor } from '../test/helpers/kafka.ts';

process.env.KAFKA_BROKERS ??= '127.0.0.1:9092';
const out = resolve(process.argv[2] ?? `${ROOT}/docs/status-page.png`);
const topic = unique('orders');
const group = 'order-audit';

await createTopic(topic, 6);
await produceIds(topic, 0, 3000);
const app = startAppProcess({
  PARTITA_TEST_TOPIC: topic,
  PARTITA_TEST_GROUP: group,
  PARTITA_TEST_OUT: tempFile('records.jsonl'),
  PARTITA_TEST_CONCURRENCY: '3',
  PARTITA_TEST_DELAY_MS: '100',
  PARTITA_TEST_MAX_MESSAGES: '25',
  PARTITA_TEST_METRICS_INTERVAL_MS: '500',
});
let producing = true;
try {
  await waitFor(() => httpUrlOf(app) !== undefined || app.child.exitCode !== null, 'the app to serve HTTP', 30_000);
  const url = httpUrlOf(app);
  if (!url) throw new Error(`the app did not start:\n${app.output()}`);
  // Messages keep arriving while the page polls, so rate and lag are not all zero.
  const more = (async () => {
    for (let from = 3000; producing; from += 300) {
      await produceIds(topic, from, 300);
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`${url}/`);
    await page.waitForSelector('tr.partition');
    await page.waitForTimeout(6000);
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
    producing = false;
    await more;
  }
  console.log(`wrote ${out}`);
} finally {
  app.child.kill('SIGTERM');
  await app.exited;
}
