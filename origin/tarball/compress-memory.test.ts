// In its own file so the process (and its RSS) belongs to this test alone.
import { test } from 'node:test';
import { assertBoundedMemory } from './compress-memory.ts';

test('memory: packing and gzipping a 300 MB file stays within ~100 MB of RSS growth', (t) => assertBoundedMemory(t, 'gzip'));
