// The patching of tfjs-layers' methods keeps each method's original apart: two methods of one
// prototype, or a method of a class and of its subclass, are patched and put back independently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { patch, unpatch } from './fused_layers.js';

class Base {
  call(): string {
    return 'base call';
  }
  apply(): string {
    return 'base apply';
  }
}
class Derived extends Base {
  override call(): string {
    return 'derived call';
  }
}

type Method = (this: never) => string;

test('originals are kept per method and per prototype, and each is put back on its own', () => {
  const wrap = (tag: string) => (original: Method) => function (this: never) { return `${tag}(${original.call(this)})`; } as Method;
  patch<Method>(Base.prototype, 'call', wrap('a'));
  patch<Method>(Base.prototype, 'apply', wrap('b'));
  patch<Method>(Derived.prototype, 'call', wrap('c'));
  patch<Method>(Base.prototype, 'call', wrap('again')); // idempotent: already patched
  const base = new Base();
  const derived = new Derived();
  assert.deepEqual([base.call(), base.apply(), derived.call(), derived.apply()], ['a(base call)', 'b(base apply)', 'c(derived call)', 'b(base apply)']);
  unpatch(Base.prototype, 'call');
  assert.deepEqual([base.call(), base.apply(), derived.call()], ['base call', 'b(base apply)', 'c(derived call)']);
  unpatch(Derived.prototype, 'call');
  unpatch(Base.prototype, 'apply');
  assert.deepEqual([base.call(), base.apply(), derived.call()], ['base call', 'base apply', 'derived call']);
});
