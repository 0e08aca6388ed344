/**
 * The shape every scenario (bench/scenarios/*.ts) is written against: what
 * it is given (options, broker connection, this run's id, a scratch
 * directory) and what it hands back (its result sections, and the fetcher
 * profile when it took one). bench/run.ts runs them in turn.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { BenchOptions } from './options.ts';
import type { ProfileSummary, ScenarioResult } from './report.ts';

export interface BenchContext {
  opts: BenchOptions;
  /** Makes this run's topic and group names unique. */
  runId: string;
  brokers: string[];
  kafka: Kafka;
  /** Connected for the whole run. */
  admin: Admin;
  /** Scratch directory (payload files for the Java producer). */
  work: string;
}

export interface ScenarioOutcome {
  /** One section of the report each (passthrough has one per payload size). */
  results: ScenarioResult[];
  profile?: ProfileSummary;
}

export interface Scenario {
  /** The `--scenario` name. */
  name: string;
  run(ctx: BenchContext): Promise<ScenarioOutcome>;
}
