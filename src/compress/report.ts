/**
 * `compress --report DIR`: frontier.png (size on a log axis against accuracy, the original demo's point
 * marked) and report.json with every number, each written atomically.
 */
import path from 'node:path';
import { ensureReportDir } from '../eval/report.js';
import { svgToPng } from '../draw/render.js';
import { writeFileAtomic } from '../node/atomic.js';
import { budgetTag } from './plan.js';
import { frontierSvg } from './chart.js';
import type { CompressReport } from './compress.js';

export async function writeCompressReport(dir: string, r: CompressReport): Promise<string[]> {
  await ensureReportDir(dir);
  const png = await svgToPng(
    frontierSvg({
      title: `digitkit compress --max-bytes ${r.budget.toLocaleString('en-US')} (${budgetTag(r.budget)})`,
      budget: r.budget,
      candidates: r.candidates.map((c) => ({ label: c.label, bytes: c.bytes, accuracy: c.valAccuracy })),
      chosen: {
        label: r.chosen.label,
        layers: r.chosen.precision,
        bytes: r.out.bytes,
        accuracy: r.chosen.valAccuracy,
        testAccuracy: r.chosen.testAccuracy,
      },
      teacher: { label: path.basename(r.model.path), bytes: r.model.bytes, accuracy: r.model.valAccuracy },
    }),
  );
  await writeFileAtomic(path.join(dir, 'frontier.png'), png);
  await writeFileAtomic(path.join(dir, 'report.json'), JSON.stringify(r, null, 2) + '\n');
  return ['frontier.png', 'report.json'];
}
