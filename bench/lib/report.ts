/**
 * Bench output: the results document (JSON), a text table and an SVG chart.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';

export interface ContenderRow {
  contender: string;
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  peakRssBytes?: number;
  /** Cores the contender's process kept busy while it ran (CPU time ÷ wall time). */
  cores?: number;
  latencyMs?: { p50: number; p95: number; p99: number; samples: number };
  /** This contender's rate over the scenario's baseline contender's. */
  ratio?: number;
}

export interface TargetCheck {
  target: string;
  value: number;
  goal: number;
  /** How the value compares: >= or <= goal. */
  better: 'higher' | 'lower';
  met: boolean;
  /** e.g. "1.12× (target ≥ 1.0×)" */
  note: string;
}

export interface ScenarioResult {
  name: string;
  description: string;
  baseline: string;
  partitions: number;
  messages: number;
  rows: ContenderRow[];
  targets: TargetCheck[];
  notes: string[];
}

export interface BenchDocument {
  startedAt: string;
  finishedAt: string;
  command: string;
  quick: boolean;
  machine: { cores: number; cpuModel: string; memoryBytes: number; node: string; kafka: string; kafkajs: string; platform: string };
  scenarios: ScenarioResult[];
  profile?: ProfileSummary;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  topFunctions: Array<{ name: string; where: string; selfMs: number; share: number }>;
  byArea: Array<{ area: string; selfMs: number; share: number }>;
}

export function machine(kafka: string, kafkajs: string): BenchDocument['machine'] {
  return { cores: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem(), node: process.versions.node, kafka, kafkajs, platform: `${process.platform}-${process.arch}` };
}

export function check(target: string, value: number, goal: number, better: 'higher' | 'lower', unit: string): TargetCheck {
  const met = better === 'higher' ? value >= goal : value <= goal;
  const fmt = (n: number) => (unit === '×' ? `${n.toFixed(2)}×` : `${round(n)} ${unit}`);
  const gap = better === 'higher' ? value / goal : goal / value;
  return { target, value, goal, better, met, note: `${fmt(value)} (target ${better === 'higher' ? '≥' : '≤'} ${fmt(goal)}; ${met ? 'met' : `missed, at ${(gap * 100).toFixed(0)}% of it`})` };
}

function round(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2);
}

export function table(doc: BenchDocument): string {
  const out: string[] = [];
  for (const s of doc.scenarios) {
    out.push(`\n${s.name} — ${s.description} (${s.messages.toLocaleString('en-US')} messages, ${s.partitions} partitions; ratio vs ${s.baseline})`);
    const rows = s.rows.map((r) => [
      r.contender,
      round(r.messagesPerSecond),
      r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`,
      r.seconds.toFixed(2),
      r.peakRssBytes ? `${Math.round(r.peakRssBytes / 2 ** 20)} MB` : '',
      r.cores === undefined ? '' : r.cores.toFixed(2),
      r.latencyMs ? `${round(r.latencyMs.p50)} / ${round(r.latencyMs.p95)} / ${round(r.latencyMs.p99)}` : '',
    ]);
    const head = ['contender', 'msg/s', 'ratio', 'seconds', 'peak RSS', 'cores', 'latency p50/p95/p99 ms'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
    out.push(line(head), `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`, ...rows.map(line));
    for (const t of s.targets) out.push(`  ${t.met ? '✓' : '✗'} ${t.target}: ${t.note}`);
    for (const n of s.notes) out.push(`  · ${n}`);
  }
  return out.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One panel per scenario, bars scaled within the panel (the scenarios differ by orders of magnitude). */
export function svgChart(doc: BenchDocument): string {
  const W = 900;
  const barX = 260;
  const barW = 520;
  const rowH = 22;
  let y = 40;
  const parts: string[] = [];
  parts.push(`<text x="10" y="24" font-size="16" font-weight="bold">Partita bench — ${esc(doc.startedAt)} — ${doc.machine.cores} cores, Node ${esc(doc.machine.node)}, Kafka ${esc(doc.machine.kafka)}${doc.quick ? ' (quick)' : ''}</text>`);
  for (const s of doc.scenarios) {
    const latency = s.rows.some((r) => r.latencyMs);
    const memory = s.name === 'memory';
    const value = (r: ContenderRow) => (latency ? (r.latencyMs?.p99 ?? 0) : memory ? (r.peakRssBytes ?? 0) / 2 ** 20 : r.messagesPerSecond);
    const unit = latency ? 'ms p99' : memory ? 'MB peak RSS' : 'msg/s';
    const max = Math.max(1e-9, ...s.rows.map(value));
    y += 14;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(s.name)}: ${esc(s.description)} (${esc(unit)})</text>`);
    y += 8;
    for (const r of s.rows) {
      const v = value(r);
      const w = Math.max(1, (v / max) * barW);
      const color = r.contender.startsWith('partita') ? '#3b6fd8' : r.contender.startsWith('java') ? '#999999' : '#e08a2c';
      parts.push(`<text x="10" y="${y + 15}" font-size="12">${esc(r.contender)}</text>`);
      parts.push(`<rect x="${barX}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color}"/>`);
      parts.push(`<text x="${barX + w + 6}" y="${y + 15}" font-size="12">${esc(round(v))}${r.ratio !== undefined && !latency && !memory ? ` (${r.ratio.toFixed(2)}×)` : ''}</text>`);
      y += rowH;
    }
    y += 6;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 20}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}
