// initEngine must not fall back silently: when the wasm backend cannot start
// it throws. Own file, because it replaces the process-wide wasm backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from './index.js';

test('initEngine throws a clear error when wasm cannot initialize', async () => {
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => {
    throw new Error('simulated: no WebAssembly here');
  });
  const warn = console.warn;
  console.warn = () => {}; // tfjs logs the failure itself; keep test output clean
  try {
    await assert.rejects(initEngine(), /'wasm' TensorFlow.js backend failed to initialize/);
  } finally {
    console.warn = warn;
  }
  assert.notEqual(tf.getBackend(), 'wasm');
});
