/**
 * The scenario registry: every `--scenario` name there is, in the order a
 * plain `npm run bench` runs them (and the report lists them).
 */
import type { Scenario } from '../lib/scenario.ts';
import { compressed } from './compressed.ts';
import { cpu } from './cpu.ts';
import { cpuKeyed } from './cpu-keyed.ts';
import { io } from './io.ts';
import { ioKeyed } from './io-keyed.ts';
import { latency } from './latency.ts';
import { memory } from './memory.ts';
import { passthrough } from './passthrough.ts';

export const SCENARIOS: readonly Scenario[] = [passthrough, compressed, cpu, cpuKeyed, io, ioKeyed, latency, memory];
