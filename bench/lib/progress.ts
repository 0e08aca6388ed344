/**
 * Progress while a contender runs, on stderr: stdout is kept for the table
 * (the bench test and README read it). Quarter marks when stderr is not a
 * terminal (CI logs, the bench test), so no carriage returns end up in logs.
 */
const isTTY = process.stderr.isTTY === true;

/** One line per contender: a bar redrawn in place on a terminal, quarter marks otherwise. */
export function progressBar(label: string, total: number) {
  let lastQuarter = -1;
  return {
    update(n: number) {
      const f = Math.min(1, n / total);
      if (isTTY) {
        const w = 30;
        process.stderr.write(`\r  ${label.padEnd(34)} [${'#'.repeat(Math.round(f * w)).padEnd(w, '.')}] ${(f * 100).toFixed(0).padStart(3)}%`);
      } else if (Math.floor(f * 4) > lastQuarter) {
        lastQuarter = Math.floor(f * 4);
        process.stderr.write(`  ${label}: ${lastQuarter * 25}%\n`);
      }
    },
    done(summary: string) {
      if (isTTY) process.stderr.write(`\r  ${label.padEnd(34)} ${summary}`.padEnd(80) + '\n');
      else process.stderr.write(`  ${label}: ${summary}\n`);
    },
  };
}
