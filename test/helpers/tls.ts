/** Throwaway certificates (made with `openssl`) and local TLS servers, for the TLS failure tests. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';

export const hasOpenssl = !spawnSync('openssl', ['version']).error;

export interface TestCerts {
  dir: string;
  /** Self-signed, issued for the name `not-this-host` only. */
  self: { key: string; cert: string; certFile: string };
  /** A leaf for `localhost` signed by `caCert` (the server sends the leaf only). */
  leaf: { key: string; cert: string };
  caCert: string;
}

/** Generates the certificates into a temp dir (EC keys: fast). */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'partita-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', ...ec, '-keyout', 'self.key', '-out', 'self.crt', '-days', '2', '-subj', '/CN=not-this-host', '-addext', 'subjectAltName=DNS:not-this-host');
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=partita-test-ca');
  run('req', '-new', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost');
  run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.crt', '-days', '2');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    dir,
    self: { key: read('self.key'), cert: read('self.crt'), certFile: join(dir, 'self.crt') },
    leaf: { key: read('leaf.key'), cert: read('leaf.crt') },
    caCert: read('ca.crt'),
  };
}

export interface LocalServer {
  address: string;
  close(): Promise<void>;
}

function listen(server: NetServer): Promise<LocalServer> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

/** A TLS server with this key and certificate (the handshake is all a test gets from it). */
export function startTlsServer(opts: { key: string; cert: string }): Promise<LocalServer> {
  const server = createTlsServer(opts, (socket) => socket.destroy());
  server.on('tlsClientError', () => {});
  return listen(server);
}

/** A TCP server that drops every connection at once, as a plaintext Kafka listener drops a TLS ClientHello. */
export function startDroppingServer(): Promise<LocalServer> {
  return listen(createTcpServer((socket) => socket.destroy()));
}
