// The gradients' convolutions on oneDNN in either activation layout: the addon times tfjs's NHWC against
// oneDNN's blocked layouts when it builds a filter or input gradient and keeps the faster (native/conv.cc),
// so which one a geometry gets depends on the CPU and the moment. Each is forced here in turn
// (LEUKOSEG_CONV_LAYOUTS) and the gradient tests run against the cpu backend; oneDNN's verbose log
// shows which layouts the convolutions ran in. A misspelt value is refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtAddon } from './testing.js';

const here = dirname(fileURLToPath(import.meta.url));
// The filter and input gradients, which build every primitive the layout choice applies to (a layer's
// fused backward, conv_relu_training, builds the same two).
const gradientTests = ['conv2d_backprop_filter.test.js', 'conv2d_backprop_input.test.js'].map((f) => join(here, f));

/** The gradient test files run with the layouts forced; their TAP summary and oneDNN's convolution lines. */
function runForced(layouts: string): { status: number | null; summary: string; convolutions: string[] } {
  // Without NODE_TEST_CONTEXT, which would make the child report to this runner instead of printing TAP.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const result = spawnSync(process.execPath, ['--test', '--test-reporter=tap', ...gradientTests], {
    env: { ...env, LEUKOSEG_CONV_LAYOUTS: layouts, ONEDNN_VERBOSE: '1' },
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  const lines = `${result.stdout}\n${result.stderr}`.split('\n');
  return {
    status: result.status,
    summary: lines.filter((l) => /^# (pass|fail) /.test(l)).join(', '),
    convolutions: lines.filter((l) => /onednn_verbose,exec,cpu,convolution,.*backward_(weights|data)/.test(l)),
  };
}

/** The activations' layout tags of a verbose convolution line (oneDNN prints a gradient's as src and dst). */
function activationLayouts(line: string): string[] {
  return [...line.matchAll(/(?:^|[ ,])(?:diff_)?(?:src|dst)_f32:[a-z]*:blocked:([A-Za-z0-9]+):/g)].map((m) => m[1]);
}

for (const layouts of ['plain', 'blocked'] as const) {
  test(`the convolutions' gradients match cpu with LEUKOSEG_CONV_LAYOUTS=${layouts}`, (t) => {
    if (builtAddon(t) === null) return;
    const run = runForced(layouts);
    assert.equal(run.status, 0, `the gradient tests failed with ${layouts} layouts: ${run.summary}`);
    assert.match(run.summary, /# pass [1-9]\d*, # fail 0/);
    assert.ok(run.convolutions.length > 0, 'no gradient convolution ran on oneDNN');
    // A size-1 axis lets oneDNN print NHWC under another tag (acbd for one channel and one column): only
    // geometries without one are read.
    const plainly = run.convolutions.filter((l) => {
      const sizes = /_ic(\d+)oc(\d+)_ih(\d+)oh(\d+).*_iw(\d+)ow(\d+)/.exec(l);
      return sizes !== null && sizes.slice(1).every((n) => Number(n) > 1);
    });
    assert.ok(plainly.length > 0, 'no gradient convolution without a size-1 axis ran');
    const blocked = plainly.filter((l) => activationLayouts(l).some((tag) => tag !== 'acdb'));
    // Where NHWC only gets oneDNN's gemm or reference code, the addon lets oneDNN choose in any mode.
    const fallback = (l: string) => /,convolution,[^,]*(gemm|ref)[^,]*,/.test(l);
    if (layouts === 'plain') assert.deepEqual(blocked.filter((l) => !fallback(l)), [], 'blocked activations despite plain');
    else assert.ok(blocked.length > plainly.length / 2, `only ${blocked.length} of ${plainly.length} gradient convolutions ran blocked`);
  });
}

test('a misspelt LEUKOSEG_CONV_LAYOUTS is refused by name', (t) => {
  if (builtAddon(t) === null) return;
  // A filter gradient (kind 2) of a 1x6x6x8 input and a 3x3x8x8 filter: x at 0, dy at 1152, dw at 2304.
  const script = `
    const { loadNativeConv } = await import(${JSON.stringify(join(here, 'native.js'))});
    const addon = loadNativeConv();
    const params = Int32Array.from([1, 6, 6, 8, 3, 3, 8, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1152, 2304, 0, 0, 0, 0, 0]);
    try { addon.conv(2, new ArrayBuffer(8192), params); console.log('ran'); } catch (e) { console.log(e.message); }`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, LEUKOSEG_CONV_LAYOUTS: 'blokced' }, encoding: 'utf8',
  });
  assert.match(result.stdout, /LEUKOSEG_CONV_LAYOUTS must be timed, plain or blocked, not 'blokced'/);
});
