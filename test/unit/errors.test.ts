/**
 * The error catalogue: every code is documented in README, and classes carry
 * their codes. brokerConnectError tells a refused login (BROKER_AUTH_FAILED)
 * and a failed TLS handshake (BROKER_TLS_FAILED, checked against real Node
 * TLS errors from a real kafkajs client) from an unreachable broker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import kafkajs from 'kafkajs';
import { BrokerAuthError, BrokerTlsError, BrokerUnreachableError, ConfigError, ErrorCodes, PartitaError, PayloadError, UnknownConsumerGroupError, brokerConnectError } from '../../src/index.ts';
import { ROOT } from '../helpers/app.ts';
import { hasOpenssl, makeCerts, startDroppingServer, startTlsServer, type LocalServer } from '../helpers/tls.ts';

/** The codes of README's error table (the rows of the table under "## Error codes"). */
function readmeCodes(): string[] {
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('\n## Error codes'));
  const table = section.slice(0, section.indexOf('\n## ', 1));
  return [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!);
}

test("README's error table and the catalogue hold the same codes, each once", () => {
  const documented = readmeCodes();
  assert.ok(documented.length > 20, `found ${documented.length} codes in README's error table`);
  assert.deepEqual(documented.filter((c, i) => documented.indexOf(c) !== i), [], 'no code twice in README');
  assert.deepEqual(documented.filter((c) => !(c in ErrorCodes)), [], 'codes in README but not in the catalogue');
  assert.deepEqual(Object.keys(ErrorCodes).filter((c) => !documented.includes(c)), [], 'codes in the catalogue but not in README');
});

test('every error Partita throws on purpose is in the catalogue: no plain Error classes or throws under src/', () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ts$/.test(name) && path !== join(ROOT, 'src/errors.ts')) {
        readFileSync(path, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (/\bnew (Error|TypeError|RangeError)\(|class \w+ extends (Error|TypeError)\b/.test(line)) offenders.push(`${relative(ROOT, path)}:${i + 1}: ${line.trim()}`);
          });
      }
    }
  };
  walk(join(ROOT, 'src'));
  assert.deepEqual(offenders, []);
});

test('errors carry stable codes and readable messages', () => {
  const cfg = new ConfigError([{ path: 'a.b', message: 'bad' }, { path: 'c', message: 'worse' }]);
  assert.ok(cfg instanceof PartitaError);
  assert.equal(cfg.code, 'CONFIG_INVALID');
  assert.equal(cfg.message, 'Invalid Partita config (2 problems):\n  - a.b: bad\n  - c: worse');
  const unknown = new UnknownConsumerGroupError(['x'], ['a', 'b']);
  assert.equal(unknown.message, 'Unknown consumer group: x. Available: a, b');
  const payload = new PayloadError('t', 1, 42, new SyntaxError('Unexpected token'));
  assert.equal(payload.code, 'PAYLOAD_INVALID');
  assert.equal(payload.name, 'PayloadError');
  assert.match(payload.message, /t\/1@42: Unexpected token/);
});

// ---- brokerConnectError: what kafkajs throws when it cannot connect, classified ----

const { Kafka, logLevel } = kafkajs;
// kafkajs's typings leave out these constructors' arguments.
const KafkaJSSASLAuthenticationError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
const KafkaJSNonRetriableError = kafkajs.KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error;
const KafkaJSProtocolError = kafkajs.KafkaJSProtocolError as unknown as new (e: { type: string; code: number; retriable: boolean; message: string }) => Error;

/** What a real kafkajs client throws when connecting to `address` (no retries). */
async function connectError(address: string, ssl: boolean | Record<string, unknown>): Promise<unknown> {
  const admin = new Kafka({ brokers: [address], ssl: ssl as boolean, connectionTimeout: 3000, retry: { retries: 0 }, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
  } catch (err) {
    return err;
  } finally {
    await admin.disconnect().catch(() => {});
  }
  assert.fail(`connecting to ${address} succeeded`);
}

test('SASL failures, as kafkajs wraps them, are BROKER_AUTH_FAILED and not retriable', () => {
  const brokers = ['b1:9092', 'b2:9092'];
  // The PLAIN authenticator's error, as it reaches the caller directly (kafkajs bails) ...
  const direct = brokerConnectError(brokers, new KafkaJSSASLAuthenticationError('SASL PLAIN authentication failed: Authentication failed: Invalid username or password'));
  assert.ok(direct instanceof BrokerAuthError);
  assert.equal(direct.code, 'BROKER_AUTH_FAILED');
  assert.equal(direct.retriable, false);
  assert.equal(direct.message, 'Authentication with Kafka at b1:9092, b2:9092 failed: SASL PLAIN authentication failed: Authentication failed: Invalid username or password');
  // ... or wrapped by the retrier, and the broker's protocol-level refusal.
  const inner = new KafkaJSSASLAuthenticationError('SASL SCRAM SHA256 authentication failed');
  assert.equal(brokerConnectError(brokers, new KafkaJSNonRetriableError(inner, { cause: inner })).code, 'BROKER_AUTH_FAILED');
  const protocol = new KafkaJSProtocolError({ type: 'SASL_AUTHENTICATION_FAILED', code: 58, retriable: false, message: 'SASL Authentication failed' });
  assert.equal(brokerConnectError(brokers, protocol).code, 'BROKER_AUTH_FAILED');
});

test('a closed port stays BROKER_UNREACHABLE (retriable), with the cause kept', async () => {
  const closed = await startDroppingServer();
  const address = closed.address;
  await closed.close(); // nothing listens there now
  const err = await connectError(address, false);
  const classified = brokerConnectError([address], err);
  assert.ok(classified instanceof BrokerUnreachableError);
  assert.equal(classified.code, 'BROKER_UNREACHABLE');
  assert.equal(classified.retriable, true);
  assert.equal(classified.cause, err);
  assert.match(classified.message, /ECONNREFUSED/);
});

test('real TLS failures from kafkajs + Node are BROKER_TLS_FAILED with Node\'s code', { skip: !hasOpenssl && 'openssl is not on PATH', timeout: 60_000 }, async () => {
  const certs = makeCerts();
  const cases: Array<{ what: string; server: () => Promise<LocalServer>; ssl: boolean | Record<string, unknown>; code: string | undefined; hint: RegExp }> = [
    { what: 'self-signed certificate', server: () => startTlsServer(certs.self), ssl: true, code: 'DEPTH_ZERO_SELF_SIGNED_CERT', hint: /not trusted/ },
    { what: 'certificate of an unknown CA', server: () => startTlsServer(certs.leaf), ssl: true, code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', hint: /kafka\.ssl\.ca/ },
    { what: 'trusted certificate for another host name', server: () => startTlsServer(certs.self), ssl: { ca: [certs.self.cert] }, code: 'ERR_TLS_CERT_ALTNAME_INVALID', hint: /host name/ },
    { what: 'handshake dropped (a plaintext listener)', server: startDroppingServer, ssl: true, code: undefined, hint: /is this listener TLS/ },
  ];
  for (const c of cases) {
    const server = await c.server();
    try {
      const err = await connectError(server.address, c.ssl);
      const classified = brokerConnectError([server.address], err);
      assert.ok(classified instanceof BrokerTlsError, `${c.what}: ${classified.code} from ${(err as Error).message}`);
      assert.equal(classified.code, 'BROKER_TLS_FAILED');
      assert.equal(classified.retriable, false);
      if (c.code) assert.equal(classified.tlsCode, c.code, c.what);
      assert.match(classified.message, new RegExp(`^TLS connection to Kafka at ${server.address} failed`));
      assert.match(classified.message, c.hint, c.what);
    } finally {
      await server.close();
    }
  }
  // The trusted CA and the right name: the handshake succeeds (the server then hangs up: not TLS's fault).
  const ok = await startTlsServer(certs.leaf);
  try {
    const err = await connectError(ok.address.replace('127.0.0.1', 'localhost'), { ca: [certs.caCert] });
    assert.equal(brokerConnectError([ok.address], err).code, 'BROKER_UNREACHABLE', (err as Error).message);
  } finally {
    await ok.close();
  }
});
