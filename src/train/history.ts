// Per-epoch records as CSV: one row per epoch, flat columns for spreadsheets and plotting tools.
import type { EpochRecord } from './types.js';

// Columns a record may lack (no validation part, or a run from before native scoring) are left empty.
const COLUMNS: Array<[string, (r: EpochRecord) => number | undefined]> = [
  ['epoch', (r) => r.epoch],
  ['trainLoss', (r) => r.trainLoss],
  ['trainDice', (r) => r.trainDice],
  ['testDice', (r) => r.testDice],
  ['testMeanDice', (r) => r.testMeanDice],
  ['testDiceBackground', (r) => r.testDicePerClass.background],
  ['testDiceCytoplasm', (r) => r.testDicePerClass.cytoplasm],
  ['testDiceNucleus', (r) => r.testDicePerClass.nucleus],
  ['testDiceWholeCell', (r) => r.test.dice.wholeCell],
  ['testPixelAccuracy', (r) => r.test.pixelAccuracy],
  ['testNativeMeanDice', (r) => r.testNative?.dice.mean],
  ['testNativeDiceWholeCell', (r) => r.testNative?.dice.wholeCell],
  ['valMeanDice', (r) => r.valMeanDice],
  ['valNativeMeanDice', (r) => r.valNative?.dice.mean],
  ['valNativeDiceWholeCell', (r) => r.valNative?.dice.wholeCell],
  ['trainSeconds', (r) => r.trainSeconds],
  ['evalSeconds', (r) => r.evalSeconds],
  ['imagesPerSecond', (r) => r.imagesPerSecond],
  ['numTensors', (r) => r.numTensors],
  ['rssMiB', (r) => r.rssMiB],
];

export function historyCsv(history: EpochRecord[]): string {
  const header = COLUMNS.map(([name]) => name).join(',');
  const rows = history.map((r) => COLUMNS.map(([, get]) => String(get(r) ?? '')).join(','));
  return [header, ...rows].join('\n') + '\n';
}
